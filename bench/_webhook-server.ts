// One admission server in a process of its own, so that its CPU time is its own: `bare` (node:https
// that JSON.parses the body and answers an allowing AdmissionReview echoing the uid, the least any
// webhook can do), `floor` (bare, plus what any webhook that checks a ModelVersion's ed25519
// signature must add: the signed payload (`signedPayload`, RFC 8785) and one verify per signature,
// with the sample key; it allows only what verifies) or `webhook` (modelchain's, `--source
// dir:samples`). Forked by the webhook benches; over IPC it reports its port, then answers "cpu"
// with process.cpuUsage() and the number of reviews answered so far, and "stop" by exiting.
import { fork, type ChildProcess } from "node:child_process";
import { createPublicKey, verify } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import { join } from "node:path";
import { signedPayload, type ModelVersionSpec } from "../src/api/index.ts";

export type ServerKind = "bare" | "floor" | "webhook";

export interface ServerCpu {
  /** process.cpuUsage() of the server's process, µs. */
  user: number;
  system: number;
  reviews: number;
  /** TLS connections the server has accepted. */
  connections: number;
}

export interface ServerChild {
  kind: ServerKind;
  port: number;
  cpu(): Promise<ServerCpu>;
  stop(): Promise<void>;
}

const SAMPLES = join(import.meta.dirname, "..", "samples");

/** Forks this file as a server of `kind` on 127.0.0.1 (`port` 0: any free one). */
export async function startServerChild(
  kind: ServerKind,
  tls: { certFile: string; keyFile: string },
  port = 0,
  execArgv: string[] = [],
): Promise<ServerChild> {
  const child: ChildProcess = fork(
    import.meta.filename,
    ["--serve", kind, tls.certFile, tls.keyFile, String(port)],
    {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      execArgv: [...process.execArgv, ...execArgv],
    },
  );
  const bound = await new Promise<number>((resolve, reject) => {
    child.once("message", (m) => resolve((m as { port: number }).port));
    child.once("exit", (code) => reject(new Error(`${kind} server exited with ${code} before listening`)));
  });
  let waiting: ((cpu: ServerCpu) => void)[] = [];
  child.on("message", (m) => {
    const [next, ...rest] = waiting;
    waiting = rest;
    next?.(m as ServerCpu);
  });
  return {
    kind,
    port: bound,
    cpu: () =>
      new Promise((resolve) => {
        waiting.push(resolve);
        child.send("cpu");
      }),
    stop: () =>
      new Promise((resolve) => {
        child.once("exit", () => resolve());
        child.send("stop");
      }),
  };
}

interface FloorRequest {
  uid: string;
  kind?: { kind?: string };
  object?: { spec?: { signatures?: { signature?: string }[] } & Record<string, unknown> };
}

/** The signature check alone: a ModelVersion is allowed when every signature verifies. */
function signatureFloor(): (request: FloorRequest) => boolean {
  const key = createPublicKey(readFileSync(join(SAMPLES, "keys", "demo-signing.pub.pem")));
  return (request) => {
    const spec = request.object?.spec;
    if (request.kind?.kind !== "ModelVersion" || spec === undefined) return true;
    const signatures = spec.signatures ?? [];
    const payload = signedPayload(spec as unknown as ModelVersionSpec);
    return (
      signatures.length > 0 &&
      signatures.every((s) => verify(null, payload, key, Buffer.from(s.signature ?? "", "base64")))
    );
  };
}

async function serve(kind: ServerKind, certFile: string, keyFile: string, port: number): Promise<void> {
  let reviews = 0;
  let connections = 0;
  let listening: number;
  if (kind === "bare" || kind === "floor") {
    const check = kind === "floor" ? signatureFloor() : () => true;
    const server = createServer(
      { cert: readFileSync(certFile), key: readFileSync(keyFile), keepAliveTimeout: 30_000 },
      (req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
          const review = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { request: FloorRequest };
          const body = `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":${JSON.stringify(review.request.uid)},"allowed":${check(review.request)}}}`;
          reviews++;
          res.writeHead(200, { "content-type": "application/json", "content-length": body.length }).end(body);
        });
      },
    );
    server.on("secureConnection", () => connections++);
    await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
    const address = server.address();
    listening = typeof address === "object" && address !== null ? address.port : 0;
  } else {
    const { modelchainVocabulary, startWebhookService } = await import("../src/webhook/index.ts");
    const { admissionReviews } = await import("../src/metrics/index.ts");
    const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
    const webhook = await startWebhookService({
      vocabulary: modelchainVocabulary,
      source: { type: "dir", path: SAMPLES },
      cluster: "bench",
      certFile,
      keyFile,
      port,
      host: "127.0.0.1",
      log: quiet,
    });
    listening = webhook.server.port;
    webhook.server.server.on("secureConnection", () => connections++);
    const counted = async (): Promise<number> =>
      (await admissionReviews.get()).values.reduce((sum, v) => sum + v.value, 0);
    // The webhook counts its reviews in its own metric; read it only when asked.
    const cpu = async (): Promise<void> => {
      reviews = await counted();
      process.send?.({ ...process.cpuUsage(), reviews, connections } satisfies ServerCpu);
    };
    process.on("message", (m) => {
      if (m === "cpu") void cpu();
      if (m === "stop") void webhook.close().then(() => process.exit(0));
    });
    process.send?.({ port: listening });
    return;
  }
  process.on("message", (m) => {
    if (m === "cpu") process.send?.({ ...process.cpuUsage(), reviews, connections } satisfies ServerCpu);
    if (m === "stop") process.exit(0);
  });
  process.send?.({ port: listening });
}

if (process.argv[2] === "--serve") {
  const [kind, certFile, keyFile, port] = process.argv.slice(3);
  await serve(
    kind === "bare" || kind === "floor" ? kind : "webhook",
    certFile ?? "",
    keyFile ?? "",
    Number(port ?? 0),
  );
}

/** The median of each figure across rounds (each field on its own), as both webhook benches report. */
export function medianRound<R extends { [K in keyof R]: number }>(runs: R[]): R {
  const out: Partial<Record<keyof R, number>> = {};
  for (const field of Object.keys(runs[0] ?? {}) as Array<keyof R>) {
    const sorted = runs.map((r) => r[field]).sort((a, b) => a - b);
    out[field] = sorted[Math.floor(sorted.length / 2)] ?? 0;
  }
  return out as R;
}
