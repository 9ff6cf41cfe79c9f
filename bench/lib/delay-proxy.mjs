#!/usr/bin/env node
// A TCP delay proxy on loopback: the edge "a network away" for the distance benchmark
// (bench/distance/run.mjs). Everything a switch sends to the edge, and everything the edge answers,
// is held for the one-way delay before it is passed on, in order, in both directions.
//
// Connection set-up is delayed too. A TCP client 50 ms away from its server can send its first
// byte only after the handshake (one round trip), and that byte arrives half a round trip later.
// The kernel accepts the switch's connection on loopback at once, so the proxy holds the
// connection's first bytes for the handshake's round trip (2 × one-way) before they start their
// own one-way trip: the first request of a new connection reaches the edge 3 × one-way after
// connect(), as it would across the network. A connection kept alive pays this once.
//
// Run as its own process, so nothing the benchmark does blocks its timers:
//   node bench/lib/delay-proxy.mjs --target 127.0.0.1:8787 --one-way 50 [--listen 127.0.0.1:0]
// It prints one JSON line {"port":N} once listening, and on SIGUSR2 one line of counters
// (connections, bytes each way). It listens on loopback only.
import { createConnection, createServer } from "node:net";
import { fileURLToPath } from "node:url";

/** Start the proxy; answers { port, counters, close() }. */
export function startDelayProxy({ listenHost = "127.0.0.1", listenPort = 0, targetHost, targetPort, oneWayMs }) {
  if (!["127.0.0.1", "::1", "localhost"].includes(listenHost) && !listenHost.startsWith("127.")) {
    throw new Error(`the delay proxy listens on loopback only, not ${listenHost}`);
  }
  const counters = { connections: 0, open: 0, bytesToTarget: 0, bytesToClient: 0, errors: 0 };
  const sockets = new Set();

  // One direction of one connection: chunks leave `delayMs` after they arrived, in arrival order
  // (Node runs timers of equal delay in the order they were set), and the end follows the last chunk.
  const pipeDelayed = (from, to, delayMs, count) => {
    from.on("data", (chunk) => {
      counters[count] += chunk.length;
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, delayMs);
    });
    from.on("end", () => setTimeout(() => to.end(), delayMs));
  };

  const server = createServer({ pauseOnConnect: true, noDelay: true }, (client) => {
    counters.connections++;
    counters.open++;
    sockets.add(client);
    client.setNoDelay(true);
    const handshakeMs = 2 * oneWayMs;
    const upstream = createConnection({ host: targetHost, port: targetPort, noDelay: true });
    sockets.add(upstream);
    // Bytes the client sends during the handshake wait for it, then travel one-way.
    const early = [];
    let open = false;
    const openAt = performance.now() + handshakeMs;
    client.on("data", (chunk) => {
      if (open) return;
      early.push(chunk);
    });
    const fail = () => {
      counters.errors++;
      client.destroy();
      upstream.destroy();
    };
    client.on("error", fail);
    upstream.on("error", fail);
    const closed = () => {
      if (sockets.delete(client)) counters.open--;
      sockets.delete(upstream);
    };
    client.on("close", () => {
      closed();
      setTimeout(() => upstream.destroy(), oneWayMs);
    });
    upstream.on("close", () => setTimeout(() => client.destroy(), oneWayMs));
    client.resume();
    setTimeout(() => {
      open = true;
      for (const chunk of early) {
        counters.bytesToTarget += chunk.length;
        setTimeout(() => upstream.write(chunk), oneWayMs);
      }
      early.length = 0;
      pipeDelayed(client, upstream, oneWayMs, "bytesToTarget");
      pipeDelayed(upstream, client, oneWayMs, "bytesToClient");
    }, Math.max(0, openAt - performance.now()));
  });

  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(listenPort, listenHost, () => {
      resolve({
        port: server.address().port,
        counters,
        close: () =>
          new Promise((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

function parseHostPort(text) {
  const at = text.lastIndexOf(":");
  return { host: text.slice(0, at), port: Number(text.slice(at + 1)) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  const option = (name, fallback) => {
    const i = argv.indexOf(`--${name}`);
    return i === -1 ? fallback : argv[i + 1];
  };
  const target = parseHostPort(option("target", ""));
  const listen = parseHostPort(option("listen", "127.0.0.1:0"));
  const oneWayMs = Number(option("one-way", "0"));
  if (!target.port || !(oneWayMs >= 0)) {
    console.error("usage: delay-proxy.mjs --target HOST:PORT --one-way MS [--listen 127.0.0.1:PORT]");
    process.exit(64);
  }
  const proxy = await startDelayProxy({ listenHost: listen.host, listenPort: listen.port, targetHost: target.host, targetPort: target.port, oneWayMs });
  console.log(JSON.stringify({ port: proxy.port, oneWayMs, target: `${target.host}:${target.port}` }));
  process.on("SIGUSR2", () => console.log(JSON.stringify(proxy.counters)));
  for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => proxy.close().then(() => process.exit(0)));
}
