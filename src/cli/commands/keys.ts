// keygen and sign: the training pipeline's side of model signing (sign lives in sign.ts).
import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { keyIdOf } from "../../lineage/index.ts";
import { CliInputError, printResult } from "../output.ts";
import { registerReinstate } from "./reinstate.ts";
import { registerSign } from "./sign.ts";

function registerKeygen(program: Command): void {
  program
    .command("keygen")
    .description("write an ed25519 key pair (PEM) for signing ModelVersions and print its key id")
    .requiredOption("--out <dir>", "directory for <name>.pem (private, mode 0600) and <name>.pub.pem")
    .option("--name <name>", "file name stem", "modelchain-signing")
    .action((opts: { out: string; name: string }) => {
      const privatePath = join(opts.out, `${opts.name}.pem`);
      const publicPath = join(opts.out, `${opts.name}.pub.pem`);
      for (const path of [privatePath, publicPath])
        if (existsSync(path)) throw new CliInputError(`${path} already exists; refusing to overwrite a key`);
      mkdirSync(opts.out, { recursive: true });
      const { privateKey, publicKey } = generateKeyPairSync("ed25519");
      writeFileSync(privatePath, privateKey.export({ type: "pkcs8", format: "pem" }), {
        mode: 0o600,
        flag: "wx",
      });
      writeFileSync(publicPath, publicKey.export({ type: "spki", format: "pem" }), { flag: "wx" });
      printResult({ keyId: keyIdOf(publicKey), privateKey: privatePath, publicKey: publicPath });
    });
}

export function registerKeyCommands(program: Command): void {
  registerKeygen(program);
  registerSign(program);
  registerReinstate(program);
}
