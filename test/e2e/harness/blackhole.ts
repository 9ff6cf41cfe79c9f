// An edge that swallows: a TCP listener on loopback that accepts every connection, reads what it is
// sent and never answers, as an edge behind a network that drops its replies looks to a switch (the
// request leaves, nothing comes back, the switch's own timeout ends the wait). Closing it ends every
// held connection, so the switch sees a reset instead of waiting out its timeout.
import { createServer, type Socket } from "node:net";
import type { AddressInfo } from "node:net";

export interface Blackhole {
  port: number;
  /** Connections it accepted so far. */
  accepted(): number;
  close(): Promise<void>;
}

export async function startBlackhole(port = 0, host = "127.0.0.1"): Promise<Blackhole> {
  const held = new Set<Socket>();
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    held.add(socket);
    socket.on("data", () => undefined);
    socket.on("error", () => undefined);
    socket.on("close", () => held.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    accepted: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of held) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
