// The operator's probes: /healthz (the process answers) and /readyz (its informers listed and
// watching, and whatever else the caller adds, such as the in-process webhook's cache).
import { createServer, type Server } from "node:http";

/** /healthz: the process answers. /readyz: every informer is listed and watching, and `notReady` agrees. */
export async function serveHealth(
  port: number,
  host: string,
  notReady: () => string | undefined,
): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "").split("?")[0];
    const problem = path === "/readyz" ? notReady() : undefined;
    const known = path === "/healthz" || path === "/readyz";
    res.writeHead(!known ? 404 : problem === undefined ? 200 : 503, { "content-type": "text/plain" });
    res.end(!known ? "not found\n" : problem === undefined ? "ok\n" : `not ready: ${problem}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  return { server, url: `http://${boundAddress(server)}` };
}

/** host:port as the kernel bound it ([::1]:8081 for IPv6). */
export function boundAddress(server: Server): string {
  const a = server.address();
  if (typeof a !== "object" || a === null) return String(a);
  return a.family === "IPv6" ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}
