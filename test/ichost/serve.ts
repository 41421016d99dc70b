// The gateway on a real HTTP port, for processes (the CLI) that reach the canister by URL.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Gateway } from "./gateway.ts";

export async function serveGateway(gateway: Gateway): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = chunks.length === 0 ? undefined : new Uint8Array(Buffer.concat(chunks));
      gateway
        .fetch(`http://gateway.test${req.url ?? "/"}`, {
          method: req.method ?? "GET",
          ...(body === undefined ? {} : { body }),
        })
        .then(async (response) => {
          res.writeHead(response.status, response.statusText, Object.fromEntries(response.headers));
          res.end(Buffer.from(await response.arrayBuffer()));
        })
        .catch((e: unknown) => res.destroy(e instanceof Error ? e : new Error(String(e))));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
