// A real Prometheus (Debian's package) scrapes the edge as an operator runs it (`npm start`): after
// a few Kamailio callbacks, Prometheus's own query API answers with what the edge counted.
import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const root = join(import.meta.dirname, "..", "..");
const stateDir = mkdtempSync(join(tmpdir(), "whistle-metrics-state-"));
const promDir = mkdtempSync(join(tmpdir(), "whistle-prometheus-"));
const children: ChildProcess[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** Start a process in its own group; resolve once its output says `ready`. */
async function launch(command: string, args: string[], env: NodeJS.ProcessEnv, ready: string): Promise<() => string> {
  const child = spawn(command, args, { cwd: root, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const deadline = Date.now() + 180_000;
  while (!output.includes(ready)) {
    if (child.exitCode !== null) throw new Error(`${command} exited early:\n${output}`);
    if (Date.now() > deadline) throw new Error(`${command} did not come up:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return () => output;
}

async function stopAll(): Promise<void> {
  for (const child of children.splice(0)) {
    if (child.exitCode !== null) continue;
    const exited = new Promise((r) => child.once("exit", r));
    process.kill(-child.pid!, "SIGTERM");
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (child.exitCode === null) process.kill(-child.pid!, "SIGKILL");
  }
}

afterAll(async () => {
  await stopAll();
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(promDir, { recursive: true, force: true });
});

const md5 = (text: string) => createHash("md5").update(text).digest("hex");

describe("a real Prometheus scraping the edge", () => {
  it("reads authentications, bindings, callbacks and switch state through its query API", async () => {
    const edgePort = await freePort();
    const edge = `http://127.0.0.1:${edgePort}`;
    await launch(process.execPath, [join(root, "scripts", "start.mjs")], { ...process.env, PORT: String(edgePort), STATE_DIR: stateDir }, "Whistle Edge is serving");
    const demo = JSON.parse(readFileSync(join(stateDir, "demo.json"), "utf8"));
    const operatorKey = /^OPERATOR_API_KEY=(.+)$/m.exec(readFileSync(join(stateDir, "local.vars"), "utf8"))![1]!;
    const realm: string = demo.account.realm;
    const device: { username: string; password: string } = demo.devices[0];
    const basic = `Basic ${Buffer.from(`${demo.switch.id}:${demo.switch.credential}`).toString("base64")}`;

    // Kamailio's REGISTER flow, twice: once with the right password, once with a wrong one.
    async function authorize(password: string, callId: string) {
      const body = {
        method: "REGISTER",
        requestUri: `sip:${realm}`,
        to: `sip:${device.username}@${realm}`,
        source: "127.0.0.1:5070",
        contact: `<sip:${device.username}@127.0.0.1:5070>;expires=300`,
        callId,
        cseq: "1",
      };
      const post = async (extra: Record<string, string>) => {
        const response = await fetch(`${edge}/kamailio/v1/authorize`, {
          method: "POST",
          headers: { authorization: basic, "content-type": "application/json" },
          body: JSON.stringify({ ...body, ...extra }),
        });
        return (await response.json()) as { status: number; headers: string };
      };
      const challenge = await post({});
      const nonce = /nonce="([^"]+)"/.exec(challenge.headers)![1]!;
      const uri = `sip:${realm}`;
      const ha1 = md5(`${device.username}:${realm}:${password}`);
      const response = md5(`${ha1}:${nonce}:00000001:0a4f113b:auth:${md5(`REGISTER:${uri}`)}`);
      const authorization = `Digest username="${device.username}", realm="${realm}", nonce="${nonce}", uri="${uri}", response="${response}", algorithm=MD5, qop=auth, nc=00000001, cnonce="0a4f113b"`;
      return post({ authorization, cseq: "2" });
    }
    expect((await authorize(device.password, "prom-ok@127.0.0.1")).status).toBe(200);
    expect((await authorize("not-the-password", "prom-bad@127.0.0.1")).status).toBe(401);

    const promPort = await freePort();
    const config = join(promDir, "prometheus.yml");
    writeFileSync(
      config,
      [
        "global:",
        "  scrape_interval: 1s",
        "scrape_configs:",
        "  - job_name: whistle-edge",
        "    metrics_path: /api/v1/metrics",
        "    authorization:",
        "      type: Bearer",
        `      credentials: ${operatorKey}`,
        "    static_configs:",
        `      - targets: ["127.0.0.1:${edgePort}"]`,
        "",
      ].join("\n"),
    );
    await launch(
      "prometheus",
      [`--config.file=${config}`, `--storage.tsdb.path=${join(promDir, "data")}`, `--web.listen-address=127.0.0.1:${promPort}`],
      process.env,
      "Server is ready to receive web requests",
    );

    /** Ask Prometheus until the query has an answer (it scrapes every second). */
    async function query(promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const reply = (await (await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(promql)}`)).json()) as {
          status: string;
          data: { result: { metric: Record<string, string>; value: [number, string] }[] };
        };
        expect(reply.status).toBe("success");
        if (reply.data.result.length > 0 || Date.now() > deadline) return reply.data.result;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    const value = async (promql: string) => (await query(promql)).map((r) => Number(r.value[1]));

    expect(await value('up{job="whistle-edge"} == 1')).toEqual([1]);
    const account = demo.account.id as string;
    const sw = demo.switch.id as string;
    expect(await value(`whistle_authentications_total{account="${account}",switch="${sw}",method="REGISTER",outcome="ok"}`)).toEqual([1]);
    expect(await value(`whistle_authentications_total{account="${account}",switch="${sw}",method="REGISTER",outcome="failed"}`)).toEqual([1]);
    expect(await value(`whistle_bindings{account="${account}",switch="${sw}"}`)).toEqual([1]);
    expect(await value(`sum(whistle_callback_duration_seconds_count{switch="${sw}",kind="kamailio.authorize"})`)).toEqual([4]);
    expect(await value(`whistle_switch_state{switch="${sw}",state="alive"}`)).toEqual([1]);
    // The histogram is one Prometheus can compute quantiles from.
    const p99 = await value(`histogram_quantile(0.99, sum by (le) (whistle_callback_duration_seconds_bucket{kind="kamailio.authorize"}))`);
    expect(p99).toHaveLength(1);
    expect(p99[0]).toBeGreaterThan(0);
    expect(p99[0]).toBeLessThanOrEqual(2);
  });
});
