// Self-signed serving certificates for the HTTPS tests, made with the openssl CLI.
import { execFileSync } from "node:child_process";
import { mkdtempSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function hasOpenssl(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Writes cert.pem/key.pem for 127.0.0.1 into `dir` (atomically, as a Secret volume update would). */
export function writeCert(dir: string, cn = "modelchain-webhook"): void {
  const tmp = mkdtempSync(join(dir, ".gen-"));
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-days",
      "1",
      "-subj",
      `/CN=${cn}`,
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "-keyout",
      join(tmp, "key.pem"),
      "-out",
      join(tmp, "cert.pem"),
    ],
    { stdio: "ignore" },
  );
  renameSync(join(tmp, "key.pem"), join(dir, "key.pem"));
  renameSync(join(tmp, "cert.pem"), join(dir, "cert.pem"));
  rmSync(tmp, { recursive: true });
}

export function certDir(): { dir: string; certFile: string; keyFile: string } {
  const dir = mkdtempSync(join(tmpdir(), "mc-webhook-tls-"));
  writeCert(dir);
  return { dir, certFile: join(dir, "cert.pem"), keyFile: join(dir, "key.pem") };
}
