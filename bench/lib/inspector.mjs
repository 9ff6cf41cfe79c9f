// A session on the edge Worker's isolate through the V8 inspector Miniflare exposes (the Worker and
// its Durable Objects share that isolate under workerd). Used by the CPU profile and the soak.

/**
 * Connects to the isolate named "core:user:edge". `send(method, params)` answers the command's
 * result, and rejects on an inspector error or after 30 s without an answer.
 */
export async function connectEdgeInspector(inspectorUrl) {
  const httpBase = inspectorUrl.replace(/^ws/, "http").replace(/\/$/, "");
  const targets = await (await fetch(`${httpBase}/json/list`)).json();
  const target = targets.find((t) => t.id === "core:user:edge");
  if (!target) throw new Error(`no edge isolate among inspector targets: ${targets.map((t) => t.id).join(", ")}`);
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let id = 0;
  const waiting = new Map();
  ws.onmessage = (message) => {
    const data = JSON.parse(message.data);
    if (data.id && waiting.has(data.id)) {
      waiting.get(data.id)(data);
      waiting.delete(data.id);
    }
  };
  const send = (method, params = {}) =>
    new Promise((resolve, reject) => {
      const i = ++id;
      const timer = setTimeout(() => {
        waiting.delete(i);
        reject(new Error(`${method}: no answer in 30 s`));
      }, 30_000);
      waiting.set(i, (data) => {
        clearTimeout(timer);
        if (data.error) reject(new Error(`${method}: ${data.error.message}`));
        else resolve(data.result);
      });
      ws.send(JSON.stringify({ id: i, method, params }));
    });
  return { target: target.id, send, close: () => ws.close() };
}
