// TLS for a webhook the real API server calls on loopback: a CA (the caBundle of the
// ValidatingWebhookConfiguration) and a serving certificate for 127.0.0.1 signed by it.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A CA and a serving certificate for 127.0.0.1 signed by it (the API server verifies the chain). */
export function servingCertificate(): { dir: string; certFile: string; keyFile: string; caPem: string } {
  const dir = mkdtempSync(join(tmpdir(), "mc-envtest-webhook-tls-"));
  const f = (name: string) => join(dir, name);
  const run = (args: string[]) => execFileSync("openssl", args, { stdio: "ignore" });
  run([
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
    "/CN=modelchain-test-ca",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign",
    "-keyout",
    f("ca.key"),
    "-out",
    f("ca.pem"),
  ]);
  run([
    "req",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-subj",
    "/CN=127.0.0.1",
    "-keyout",
    f("key.pem"),
    "-out",
    f("req.csr"),
  ]);
  writeFileSync(f("ext.cnf"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  run([
    "x509",
    "-req",
    "-in",
    f("req.csr"),
    "-CA",
    f("ca.pem"),
    "-CAkey",
    f("ca.key"),
    "-CAcreateserial",
    "-days",
    "1",
    "-extfile",
    f("ext.cnf"),
    "-out",
    f("cert.pem"),
  ]);
  return { dir, certFile: f("cert.pem"), keyFile: f("key.pem"), caPem: readFileSync(f("ca.pem"), "utf8") };
}
