// The operator's checkpoint flags: how often the file ledger's writer signs and publishes a
// checkpoint, and where each one goes besides the ledger directory and the HTTP port.
import type { KubeConfig } from "@kubernetes/client-node";
import type { Command } from "commander";
import { configMapMirror } from "../../controller/checkpoint-mirror.ts";
import {
  DEFAULT_CHECKPOINT_EVERY_ENTRIES,
  DEFAULT_CHECKPOINT_EVERY_SECONDS,
  parseLedgerUrl,
  type CheckpointSink,
  type PublisherOptions,
} from "../../ledger/index.ts";
import { CliInputError, parseAtLeast } from "../output.ts";
import { anchorSink } from "./anchor.ts";

export interface CheckpointFlags {
  checkpointEveryEntries: number;
  checkpointEverySeconds: number;
  checkpointConfigmap?: string;
  anchor?: string;
}

export function addCheckpointOptions(command: Command): Command {
  return command
    .option(
      "--checkpoint-every-entries <n>",
      "file ledger: sign and publish a checkpoint after this many new entries",
      parseAtLeast("--checkpoint-every-entries", 1, "a checkpoint needs a new entry"),
      DEFAULT_CHECKPOINT_EVERY_ENTRIES,
    )
    .option(
      "--checkpoint-every-seconds <s>",
      "file ledger: … or after this many seconds, if anything was appended",
      parseAtLeast("--checkpoint-every-seconds", 1, "at most one checkpoint a second"),
      DEFAULT_CHECKPOINT_EVERY_SECONDS,
    )
    .option(
      "--checkpoint-configmap <namespace/name>",
      "also mirror each published checkpoint to this ConfigMap",
    )
    .option(
      "--anchor <url>",
      "also append each published checkpoint to this ledger canister (ic://<canister>?host=…&identity=…) as an AnchoredCheckpoint entry",
    );
}

function configMapSink(kubeConfig: KubeConfig, target: string): CheckpointSink {
  const [namespace, name, extra] = target.split("/");
  if (!namespace || !name || extra !== undefined)
    throw new CliInputError(`--checkpoint-configmap ${JSON.stringify(target)}: want <namespace>/<name>`);
  return configMapMirror(kubeConfig, namespace, name);
}

/** The schedule and sinks, or undefined when the ledger is not a file ledger (the canister certifies its own tip). */
export function checkpointSchedule(
  flags: CheckpointFlags,
  ledgerUrl: string,
  kubeConfig: KubeConfig,
  cluster: string,
): Omit<PublisherOptions, "onError"> | undefined {
  if (parseLedgerUrl(ledgerUrl).backend !== "file") {
    if (flags.anchor !== undefined)
      throw new CliInputError("--anchor anchors a file ledger; this ledger is ic://");
    return undefined;
  }
  const sinks: CheckpointSink[] = [];
  if (flags.checkpointConfigmap !== undefined)
    sinks.push(configMapSink(kubeConfig, flags.checkpointConfigmap));
  if (flags.anchor !== undefined) sinks.push(anchorSink(flags.anchor, cluster));
  return { everyEntries: flags.checkpointEveryEntries, everySeconds: flags.checkpointEverySeconds, sinks };
}
