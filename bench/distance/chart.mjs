#!/usr/bin/env node
// The distance chart: sustained REGISTER/s and calls/s per added round trip, one bar per switch and
// run, from results files of `npm run bench:distance` (e.g. one run with the previous switch files,
// one with the shipped ones). Writes an SVG beside the first file and prints a Markdown table.
//
//   node bench/distance/chart.mjs bench/results/2026-12-02-distance-before.json bench/results/2026-12-02-distance-after.json
import { readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: chart.mjs RESULTS.json [RESULTS.json ...]");
  process.exit(64);
}
const runs = files.map((file) => {
  const report = JSON.parse(readFileSync(file, "utf8"));
  const label = /-distance-?(.*)\.json$/.exec(basename(file))?.[1] || "run";
  return { file, label, report };
});

// One series per switch and run: [{ name, points: Map(roundTripMs → { reg, calls, setup }) }]
const series = [];
for (const { label, report } of runs) {
  for (const sw of report.results) {
    const points = new Map();
    for (const d of sw.distances) points.set(d.roundTripMs, { reg: d.registrations.sustained, calls: d.calls.sustained, setup: d.setup.p50 });
    series.push({ name: `${sw.name} (${label})`, points });
  }
}
const delays = [...new Set(series.flatMap((s) => [...s.points.keys()]))].sort((a, b) => a - b);
const colors = ["#9ecae1", "#3182bd", "#fdae6b", "#e6550d", "#a1d99b", "#31a354"];

function panel(title, key, x0, y0, w, h) {
  const max = Math.max(1, ...series.flatMap((s) => [...s.points.values()].map((p) => p[key] ?? 0)));
  const groupW = w / delays.length;
  const barW = (groupW * 0.8) / series.length;
  const out = [`<text x="${x0}" y="${y0 - 8}" font-weight="bold">${title}</text>`];
  out.push(`<line x1="${x0}" y1="${y0 + h}" x2="${x0 + w}" y2="${y0 + h}" stroke="#333"/>`);
  delays.forEach((delay, g) => {
    const gx = x0 + g * groupW + groupW * 0.1;
    series.forEach((s, i) => {
      const v = s.points.get(delay)?.[key];
      if (v === undefined) return;
      const bh = (v / max) * h;
      const x = gx + i * barW;
      out.push(`<rect x="${x.toFixed(1)}" y="${(y0 + h - bh).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${bh.toFixed(1)}" fill="${colors[i % colors.length]}"/>`);
      out.push(`<text x="${(x + barW / 2 - 1).toFixed(1)}" y="${(y0 + h - bh - 3).toFixed(1)}" text-anchor="middle" font-size="10">${v}</text>`);
    });
    out.push(`<text x="${(x0 + g * groupW + groupW / 2).toFixed(1)}" y="${y0 + h + 16}" text-anchor="middle">+${delay} ms round trip</text>`);
  });
  return out;
}

const W = 1100;
const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="330" font-family="sans-serif" font-size="12">`, `<rect width="100%" height="100%" fill="white"/>`];
parts.push(...panel("REGISTER/s sustained (≥ 99 % success, flat latency, 60 s)", "reg", 20, 40, 400, 220));
parts.push(...panel("Calls/s sustained (same rules)", "calls", 460, 40, 400, 220));
series.forEach((s, i) => {
  parts.push(`<rect x="${870}" y="${50 + i * 20}" width="12" height="12" fill="${colors[i % colors.length]}"/>`);
  parts.push(`<text x="${888}" y="${60 + i * 20}" font-size="11">${s.name}</text>`);
});
parts.push("</svg>");
const svgFile = runs[0].file.replace(/-distance-?[^/]*\.json$/, "-distance.svg");
writeFileSync(svgFile, parts.join("\n") + "\n");

const lines = ["| switch (run) | added RTT | REGISTER/s | vs 0 ms | calls/s | vs 0 ms | call setup p50 ms | added |", "|---|---:|---:|---:|---:|---:|---:|---:|"];
for (const s of series) {
  const zero = s.points.get(0);
  for (const delay of delays) {
    const p = s.points.get(delay);
    if (!p) continue;
    const pct = (a, b) => (b ? `${Math.round((a / b) * 100)} %` : "—");
    lines.push(`| ${s.name} | ${delay} ms | ${p.reg} | ${delay ? pct(p.reg, zero?.reg) : "—"} | ${p.calls} | ${delay ? pct(p.calls, zero?.calls) : "—"} | ${p.setup ?? "—"} | ${delay && zero ? `+${p.setup - zero.setup}` : "—"} |`);
  }
}
console.log(lines.join("\n"));
console.log(`\nwrote ${svgFile}`);
