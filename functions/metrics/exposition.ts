// The Prometheus text exposition format (version 0.0.4): `# HELP`, `# TYPE`, then one sample per
// line, `name{label="value",…} number`. Label values are escaped (backslash, quote, newline).

export type Labels = Record<string, string>;

export interface Family {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  samples: { suffix?: string; labels: Labels; value: number }[];
}

export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const escapeValue = (value: string) => value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const escapeHelp = (text: string) => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");

function number(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

export function render(families: Family[]): string {
  const out: string[] = [];
  for (const family of families) {
    out.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) {
      const labels = Object.entries(sample.labels)
        .map(([k, v]) => `${k}="${escapeValue(v)}"`)
        .join(",");
      out.push(`${family.name}${sample.suffix ?? ""}${labels ? `{${labels}}` : ""} ${number(sample.value)}`);
    }
  }
  return `${out.join("\n")}\n`;
}
