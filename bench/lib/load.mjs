// A small keep-alive HTTP/1.1 load generator: N connections, each sending one request at a time
// (no pipelining) and timing it. Raw sockets rather than node:http keep the generator's own CPU
// cost low, which matters when it shares two cores with the server under test.
import net from "node:net";

/** Latencies in microseconds, kept in full (a run is at most a few hundred thousand requests). */
export class Histogram {
  constructor() {
    this.values = new Float64Array(1 << 16);
    this.count = 0;
  }
  record(us) {
    if (this.count === this.values.length) {
      const bigger = new Float64Array(this.values.length * 2);
      bigger.set(this.values);
      this.values = bigger;
    }
    this.values[this.count++] = us;
  }
  summary() {
    const sorted = this.values.slice(0, this.count).sort();
    const at = (q) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] / 1000);
    let sum = 0;
    for (const v of sorted) sum += v;
    return { count: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1), mean: sorted.length ? sum / sorted.length / 1000 : NaN };
  }
}

/** Serialise a request once; `headers` must not include Host, Content-Length or Connection. */
export function encodeRequest(host, { method = "GET", path, headers = {}, body = null }) {
  const payload = body === null ? null : Buffer.from(body);
  let head = `${method} ${path} HTTP/1.1\r\nhost: ${host}\r\nconnection: keep-alive\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  if (payload) head += `content-length: ${payload.length}\r\n`;
  head += "\r\n";
  return payload ? Buffer.concat([Buffer.from(head), payload]) : Buffer.from(head);
}

/** One keep-alive connection that sends a request and resolves with {status, body}. */
export class Connection {
  constructor(port, host) {
    this.port = port;
    this.host = host;
    this.socket = null;
    this.buffer = Buffer.alloc(0);
    this.pending = null;
  }
  connect() {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port: this.port, host: this.host, noDelay: true });
      socket.once("connect", () => resolve());
      socket.once("error", reject);
      socket.on("data", (chunk) => this.onData(chunk));
      socket.on("close", () => {
        this.socket = null;
        if (this.pending) {
          const { reject: fail } = this.pending;
          this.pending = null;
          fail(new Error("connection closed"));
        }
      });
      socket.on("error", () => {});
      this.socket = socket;
    });
  }
  async send(bytes) {
    if (!this.socket) await this.connect();
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(bytes);
    });
  }
  onData(chunk) {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const parsed = parseResponse(this.buffer);
    if (!parsed) return;
    this.buffer = this.buffer.subarray(parsed.consumed);
    const pending = this.pending;
    this.pending = null;
    if (parsed.close) this.socket?.destroy();
    pending?.resolve({ status: parsed.status, body: parsed.body });
  }
  close() {
    this.socket?.destroy();
  }
}

function parseResponse(buf) {
  const end = buf.indexOf("\r\n\r\n");
  if (end === -1) return null;
  const head = buf.toString("latin1", 0, end);
  const status = Number(head.slice(9, 12));
  const lower = head.toLowerCase();
  const close = /\r\nconnection:\s*close/.test(lower);
  const lengthMatch = /\r\ncontent-length:\s*(\d+)/.exec(lower);
  const start = end + 4;
  if (lengthMatch) {
    const length = Number(lengthMatch[1]);
    if (buf.length < start + length) return null;
    return { status, body: buf.subarray(start, start + length), consumed: start + length, close };
  }
  if (/\r\ntransfer-encoding:\s*chunked/.test(lower)) {
    const parts = [];
    let at = start;
    for (;;) {
      const lineEnd = buf.indexOf("\r\n", at);
      if (lineEnd === -1) return null;
      const size = parseInt(buf.toString("latin1", at, lineEnd), 16);
      const dataStart = lineEnd + 2;
      if (size === 0) {
        const trailerEnd = buf.indexOf("\r\n", dataStart);
        if (trailerEnd === -1) return null;
        return { status, body: Buffer.concat(parts), consumed: trailerEnd + 2, close };
      }
      if (buf.length < dataStart + size + 2) return null;
      parts.push(buf.subarray(dataStart, dataStart + size));
      at = dataStart + size + 2;
    }
  }
  // No length, not chunked: only bodiless statuses are expected here.
  return { status, body: Buffer.alloc(0), consumed: start, close };
}

/** A single request on a fresh connection (seeding, checks). */
export async function requestOnce(port, req, host = "127.0.0.1") {
  const c = new Connection(port, host);
  try {
    const r = await c.send(encodeRequest(`${host}:${port}`, req));
    return { status: r.status, text: r.body.toString("utf8") };
  } finally {
    c.close();
  }
}

/**
 * Run `concurrency` workers for warmup + duration seconds. `next(worker, i)` answers the encoded
 * request bytes for a worker's i-th request; `check(status, body, worker)` answers true when the
 * answer is right (called on every answer whose status is not 200, and on every `sampleEvery`-th).
 * Only answers started after the warm-up count.
 */
export async function runLoad({ port, host = "127.0.0.1", concurrency, warmupSeconds, durationSeconds, next, check, sampleEvery = 50, label, progress = true, stopWhen = null }) {
  const histogram = new Histogram();
  let errors = 0;
  let checked = 0;
  let firstError = null;
  let done = 0;
  const start = performance.now();
  const measureFrom = start + warmupSeconds * 1000;
  const stopAt = measureFrom + durationSeconds * 1000;
  let measuredStart = null;
  let measuredEnd = null;
  const connections = Array.from({ length: concurrency }, () => new Connection(port, host));
  await Promise.all(connections.map((c) => c.connect()));
  const ticker = progress
    ? setInterval(() => {
        const now = performance.now();
        const phase = now < measureFrom ? "warm-up" : "measuring";
        const elapsed = Math.max(0, (now - Math.max(start, now < measureFrom ? start : measureFrom)) / 1000);
        const rate = measuredStart && now >= measureFrom ? histogram.count / ((now - measureFrom) / 1000) : 0;
        process.stdout.write(
          `\r  ${label.padEnd(30)} ${phase.padEnd(9)} ${elapsed.toFixed(1).padStart(5)} s  ${rate ? `${Math.round(rate)} req/s` : ""}  errors ${errors}      `,
        );
      }, 500)
    : null;
  async function worker(w) {
    const conn = connections[w];
    for (let i = 0; ; i++) {
      const before = performance.now();
      if (before >= stopAt || (stopWhen && stopWhen())) return;
      let status = 0;
      let body = null;
      try {
        ({ status, body } = await conn.send(next(w, i)));
      } catch (error) {
        status = -1;
        body = Buffer.from(String(error));
      }
      const after = performance.now();
      done += 1;
      if (before < measureFrom) continue;
      measuredStart ??= before;
      measuredEnd = after;
      histogram.record((after - before) * 1000);
      if (status !== 200 || histogram.count % sampleEvery === 0) {
        checked += 1;
        let ok = false;
        try {
          ok = check(status, body.toString("utf8"), w);
        } catch {
          ok = false;
        }
        if (!ok) {
          errors += 1;
          firstError ??= `${status} ${body.toString("utf8").slice(0, 300)}`;
        }
      }
    }
  }
  await Promise.all(connections.map((_, w) => worker(w)));
  if (ticker) {
    clearInterval(ticker);
    process.stdout.write("\r" + " ".repeat(100) + "\r");
  }
  for (const c of connections) c.close();
  const seconds = measuredStart === null ? durationSeconds : (measuredEnd - measureFrom) / 1000;
  const summary = histogram.summary();
  return { requests: summary.count, seconds, rps: summary.count / seconds, p50: summary.p50, p90: summary.p90, p99: summary.p99, max: summary.max, mean: summary.mean, errors, checked, firstError };
}
