// A TCP proxy on loopback that cuts one connection once it has carried `cutAfter` bytes from
// the server: a store failing mid-stream, in front of a real S3 server (SigV4 signs the Host the
// client sends, which is the proxy's, so requests through it still authenticate).
import { connect, createServer, type AddressInfo, type Server } from "node:net";

export interface CuttingProxy {
  endpoint: string;
  cuts: number;
  close(): Promise<void>;
}

export async function startCuttingProxy(upstream: URL, cutAfter: number, times = 1): Promise<CuttingProxy> {
  const state = { cuts: 0 };
  const open = new Set<{ destroy(): void }>();
  const server: Server = createServer((client) => {
    const up = connect(Number(upstream.port), upstream.hostname);
    open.add(client);
    open.add(up);
    let carried = 0;
    client.on("error", () => up.destroy());
    up.on("error", () => client.destroy());
    client.pipe(up);
    up.on("data", (chunk: Buffer) => {
      carried += chunk.length;
      if (carried > cutAfter && state.cuts < times) {
        state.cuts++;
        client.write(chunk.subarray(0, chunk.length - (carried - cutAfter)), () => {
          client.destroy();
          up.destroy();
        });
        return;
      }
      if (!client.destroyed) client.write(chunk);
    });
    up.on("end", () => client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get cuts() {
      return state.cuts;
    },
    close: () =>
      new Promise((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
