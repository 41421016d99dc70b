// The e2e's artifact store: serves the files of one folder over HTTPS with the test's own
// certificate, inside the cluster's network namespace (started there by artifact-checks.sh).
//   node artifact-server.ts <folder> <address> <port> <cert.pem> <key.pem>
import { createReadStream, readFileSync, statSync } from "node:fs";
import { createServer } from "node:https";
import { join, normalize } from "node:path";

const [folder = "", address = "", port = "", cert = "", key = ""] = process.argv.slice(2);
if (key === "") throw new Error("usage: artifact-server.ts <folder> <address> <port> <cert> <key>");

const server = createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (req, res) => {
  // normalize() keeps the path below the folder: a leading "/.." collapses to "/".
  const path = normalize(decodeURIComponent(new URL(req.url ?? "/", "https://store").pathname));
  const file = join(folder, path);
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { "content-length": size });
  createReadStream(file).pipe(res);
});
server.listen(Number(port), address, () => console.log(`serving ${folder} on https://${address}:${port}`));
