// CPU profile of the edge Worker's isolate (the Worker and its Durable Object run in the same
// isolate under workerd) through the V8 inspector Miniflare exposes: Profiler.start, a bounded load,
// Profiler.stop. Self time is attributed to source files through the bundle's source map, and
// grouped by package (drizzle-orm, zod, hono, …) or by this repository's folder.
import { readFileSync } from "node:fs";
import { connectEdgeInspector } from "./inspector.mjs";

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_INDEX = new Map([...B64].map((c, i) => [c, i]));

/** Per generated line: sorted [generatedColumn, sourceIndex, sourceLine] segments. */
function decodeSourceMap(path) {
  const map = JSON.parse(readFileSync(path, "utf8"));
  const lines = [];
  let src = 0, srcLine = 0, srcCol = 0;
  for (const lineText of map.mappings.split(";")) {
    const segments = [];
    let col = 0;
    if (lineText) {
      for (const seg of lineText.split(",")) {
        const values = [];
        let value = 0, shift = 0;
        for (const ch of seg) {
          const digit = B64_INDEX.get(ch);
          value += (digit & 31) << shift;
          if (digit & 32) shift += 5;
          else {
            values.push(value & 1 ? -(value >>> 1) : value >>> 1);
            value = 0;
            shift = 0;
          }
        }
        col += values[0];
        if (values.length >= 4) {
          src += values[1];
          srcLine += values[2];
          srcCol += values[3];
          segments.push([col, src, srcLine]);
        }
      }
    }
    lines.push(segments);
  }
  return { sources: map.sources, lines };
}

function sourceAt(sm, line, column) {
  const segs = sm.lines[line];
  if (!segs || segs.length === 0) return null;
  let lo = 0, hi = segs.length - 1, best = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (segs[mid][0] <= column) {
      best = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return { source: sm.sources[segs[best][1]], line: segs[best][2] + 1 };
}

function groupOf(source) {
  if (!source) return "(unmapped)";
  // drizzle-orm's published source maps name its own files "src/…" (entity.ts, column.ts, …).
  if (/(^|\/)node_modules\/src\//.test(source)) return "drizzle-orm";
  const nm = source.lastIndexOf("node_modules/");
  if (nm !== -1) {
    const rest = source.slice(nm + "node_modules/".length).split("/");
    return rest[0].startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const m = /(functions|durable-objects|registrar|catalog)\/(.*)$/.exec(source);
  if (m) return `${m[1]}/${m[2]}`;
  return source.replace(/^.*\//, "");
}

/** Profile the edge isolate while `load()` runs; answers the self-time summary. */
export async function profileWhile(inspectorUrl, sourceMapPath, load) {
  const session = await connectEdgeInspector(inspectorUrl);
  await session.send("Profiler.enable");
  await session.send("Profiler.setSamplingInterval", { interval: 100 });
  await session.send("Profiler.start");
  const loadResult = await load();
  const stopped = await session.send("Profiler.stop");
  session.close();
  const profile = stopped.profile;

  const sm = decodeSourceMap(sourceMapPath);
  const selfByNode = new Map();
  profile.samples.forEach((nodeId, i) => selfByNode.set(nodeId, (selfByNode.get(nodeId) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...selfByNode.values()].reduce((a, b) => a + b, 0);
  const byGroup = new Map();
  const byFunction = new Map();
  const parentOf = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node);
  const labelOf = (node) => {
    const { functionName, url, lineNumber, columnNumber } = node.callFrame;
    if (!url || !url.includes("index.js")) return functionName.startsWith("(") ? functionName : `(runtime) ${functionName || "anonymous"}`;
    const where = sourceAt(sm, lineNumber, columnNumber);
    return `${functionName || "(anonymous)"} ${where ? `${groupOf(where.source)}:${where.line}` : ""}`;
  };
  // Which code a runtime (native) function's time is spent for: its nearest JavaScript caller.
  const runtimeCallers = new Map();
  for (const node of profile.nodes) {
    const self = selfByNode.get(node.id) ?? 0;
    if (!self) continue;
    const { functionName, url, lineNumber, columnNumber } = node.callFrame;
    let group, label;
    if (!url || !url.includes("index.js")) {
      group = functionName.startsWith("(") ? functionName : `(runtime) ${functionName || "anonymous"}`;
      label = group;
    } else {
      const where = sourceAt(sm, lineNumber, columnNumber);
      group = groupOf(where?.source);
      label = `${functionName || "(anonymous)"} ${where ? `${groupOf(where.source)}:${where.line}` : ""}`;
    }
    byGroup.set(group, (byGroup.get(group) ?? 0) + self);
    byFunction.set(label, (byFunction.get(label) ?? 0) + self);
    if (group.startsWith("(runtime)")) {
      let caller = parentOf.get(node.id);
      while (caller && !caller.callFrame.url?.includes("index.js") && parentOf.has(caller.id)) caller = parentOf.get(caller.id);
      const key = `${group} ← ${caller ? labelOf(caller) : "(root)"}`;
      runtimeCallers.set(key, (runtimeCallers.get(key) ?? 0) + self);
    }
  }
  const top = (m, n) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, share: us / total, ms: us / 1000 }));
  const busy = total - (byGroup.get("(idle)") ?? 0);
  return { totalMs: total / 1000, busyShare: busy / total, load: loadResult, groups: top(byGroup, 25), functions: top(byFunction, 30), runtimeCallers: top(runtimeCallers, 15) };
}
