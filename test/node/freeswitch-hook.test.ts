// The FreeSWITCH mod_lua event hook (switches/freeswitch/scripts/whistle_edge_events.lua), run by a
// real Lua interpreter through test/node/hook/harness.lua against the real captured events in
// test/fixtures/freeswitch. What the hook must produce: one `bgapi lua whistle_edge_events.lua post
// ...` (its own thread); what that post run must produce: one `curl ...` whose post data, once
// URL-decoded the way mod_curl does it, is a form body whose `event` value is the event's JSON, and,
// when the edge does not answer, the event in the spool, standby on and a deliverer started.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseForm } from "../../functions/freeswitch/form";

const root = join(import.meta.dirname, "..", "..");
const script = join(root, "switches", "freeswitch", "scripts", "whistle_edge_events.lua");
const harness = join(import.meta.dirname, "hook", "harness.lua");
const fixtures = join(root, "test", "fixtures", "freeswitch");
const workDir = mkdtempSync(join(tmpdir(), "whistle-hook-"));

afterAll(() => rmSync(workDir, { recursive: true, force: true }));

const EDGE_URL = "https://edge.example.net";
const CREDENTIAL = "sw_0123456789abcdef.XYZ-tok";
const GOOD_GLOBALS = { edge_url: EDGE_URL, edge_switch_credential: CREDENTIAL };

let luaPath: string | undefined;
/** The Lua interpreter, never a skip: without one every test fails and says why. */
function lua(): string {
  if (luaPath) return luaPath;
  const found = spawnSync("sh", ["-c", "command -v lua5.4 || command -v lua5.3"], { encoding: "utf8" });
  const path = found.stdout.trim().split("\n")[0];
  if (found.status !== 0 || !path) {
    throw new Error(
      "no Lua interpreter: neither lua5.4 nor lua5.3 is on PATH. Install one " +
        "(Debian: apt-get install lua5.4; .ci/run does this before npm test).",
    );
  }
  luaPath = path;
  return path;
}

type HookEvent = { json: Buffer; headers: [string, string][] };
type Run = { executes: { api: string; args: string }[]; logs: { level: string; message: string }[]; errors: string[] };
type Result = { runs: Run[]; globals: Record<string, string> };

const hex = (text: string | Buffer) => Buffer.from(text).toString("hex");
const unhex = (text: string) => Buffer.from(text, "hex").toString("utf8");

/** A fixture as serialize("json") gave it: the file's bytes, and its headers as name/value pairs. */
function fixture(name: string): HookEvent {
  const json = readFileSync(join(fixtures, name));
  return fromJson(json);
}

function fromJson(json: Buffer | string): HookEvent {
  const bytes = Buffer.from(json);
  const parsed = JSON.parse(bytes.toString("utf8")) as Record<string, unknown>;
  const headers = Object.entries(parsed).map(([name, value]): [string, string] => {
    if (typeof value !== "string") throw new Error(`header ${name} is not a string`);
    return [name, value];
  });
  return { json: bytes, headers };
}

let runCount = 0;
/**
 * Runs the hook once per event, in order, sharing the FreeSWITCH global variables; or, with
 * `post`, the script once as its bgapi thread runs it (`args`), mod_curl answering `curlAnswer`.
 */
function runHook(globals: Record<string, string>, events: HookEvent[], post?: { args: string; curlAnswer: string; race?: string }, epoch?: number): Result {
  const dir = join(workDir, String(++runCount));
  const pairs = (entries: [string, string][]) => entries.map(([n, v]) => `${hex(n)} ${hex(v)}\n`).join("");
  mkdirSync(dir);
  const globalsFile = join(dir, "globals");
  writeFileSync(globalsFile, pairs(Object.entries(globals)));
  const args = [harness, script, globalsFile];
  events.forEach((event, i) => {
    const jsonFile = join(dir, `event-${i}.json`);
    const headersFile = join(dir, `event-${i}.headers`);
    writeFileSync(jsonFile, event.json);
    writeFileSync(headersFile, pairs(event.headers));
    args.push(jsonFile, headersFile);
  });
  const env = {
    ...process.env,
    ...(post && { HOOK_ARGS: hex(post.args), HOOK_CURL_ANSWER: hex(post.curlAnswer), ...(post.race && { HOOK_RACE: hex(post.race) }) }),
    ...(epoch !== undefined && { HOOK_EPOCH: String(epoch) }),
  };
  const stdout = execFileSync(lua(), args, { encoding: "utf8", env });
  const result: Result = { runs: [], globals: {} };
  for (const line of stdout.split("\n").filter(Boolean)) {
    const [kind, ...fields] = line.split(" ");
    const current = result.runs[result.runs.length - 1];
    if (kind === "run") result.runs.push({ executes: [], logs: [], errors: [] });
    else if (kind === "execute") current.executes.push({ api: unhex(fields[0]), args: unhex(fields[1]) });
    else if (kind === "log") current.logs.push({ level: unhex(fields[0]), message: unhex(fields[1]) });
    else if (kind === "error") current.errors.push(unhex(fields[0]));
    else if (kind === "global") result.globals[unhex(fields[0])] = unhex(fields[1]);
    else throw new Error(`unexpected harness output: ${line}`);
  }
  expect(result.runs).toHaveLength(post ? 1 : events.length);
  return result;
}

/** The post run of `args` (what the hook handed to bgapi), mod_curl answering HTTP `status`. */
function runPost(globals: Record<string, string>, args: string, status: number): Run {
  const curlAnswer = JSON.stringify({ status_code: String(status), body: status === 200 ? '{"outcome":"registered"}' : "" });
  const [run] = runHook(globals, [], { args, curlAnswer }).runs;
  expect(run.errors).toEqual([]);
  return run;
}

/** One event, no script errors. */
function runOne(globals: Record<string, string>, event: HookEvent): Run {
  const [run] = runHook(globals, [event]).runs;
  expect(run.errors).toEqual([]);
  return run;
}

/**
 * What mod_curl does to the post data (switch_url_decode): every %XX with two hex digits becomes
 * that byte; everything else, '+' included, stays as it is. Decodes bytes, not characters.
 */
function modCurlDecode(data: string): Buffer {
  const input = Buffer.from(data, "latin1");
  const out: number[] = [];
  for (let i = 0; i < input.length; i++) {
    const pair = input.subarray(i + 1, i + 3).toString("latin1");
    if (input[i] === 0x25 && /^[0-9A-Fa-f]{2}$/.test(pair)) {
      out.push(parseInt(pair, 16));
      i += 2;
    } else {
      out.push(input[i]);
    }
  }
  return Buffer.from(out);
}

/** The hook's one bgapi call, checked word by word; answers its arguments for the post run. */
function expectHandOff(run: Run, kind = "event"): string {
  // Reading the switch's clock (a probe's gap) is no hand-off.
  const calls = run.executes.filter((call) => call.api !== "strepoch");
  expect(calls).toHaveLength(1);
  const [call] = calls;
  expect(call.api).toBe("bgapi");
  const words = call.args.split(" ");
  for (const word of words) expect(word).toMatch(/^[\x21-\x7e]+$/); // no space, no empty word, printable
  expect(words.slice(0, 4)).toEqual(["lua", "whistle_edge_events.lua", "post", kind]);
  expect(words[4]).toMatch(/^\d+$/);
  expect(words).toHaveLength(6);
  expect(words[5]).toMatch(/^event=/);
  return words.slice(2).join(" ");
}

/** The post run's one curl call, checked argument by argument; returns the post data. */
function expectCurl(run: Run, edgeUrl = EDGE_URL, credential = CREDENTIAL): string {
  const calls = run.executes.filter((call) => call.api === "curl");
  expect(calls).toHaveLength(1);
  const args = calls[0].args.split(" ");
  expect(args.length).toBeLessThanOrEqual(10); // mod_curl 1.10.12: char *argv[10], URL included
  for (const arg of args) expect(arg).toMatch(/^[\x21-\x7e]+$/);
  expect(args.slice(0, 8)).toEqual([`${edgeUrl}/freeswitch/v1/events`, "json", "append_headers", `X-Edge-Token:${credential}`, "timeout", "2", "secure", "post"]);
  expect(args).toHaveLength(9);
  expect(args[8]).toMatch(/^event=/);
  return args[8];
}

/** Hook, then its post run with the edge answering 200: the post data that went out. */
function expectPost(run: Run, edgeUrl = EDGE_URL, credential = CREDENTIAL, kind = "event", globals: Record<string, string> = GOOD_GLOBALS): string {
  const handOff = expectHandOff(run, kind);
  const post = runPost(globals, handOff, 200);
  const data = expectCurl(post, edgeUrl, credential);
  expect(data).toBe(handOff.split(" ")[3]);
  // Delivered at once: nothing spooled, no deliverer, no standby.
  expect(post.executes.filter((call) => call.api === "sql" && call.args.startsWith("INSERT INTO spool"))).toEqual([]);
  expect(post.executes.filter((call) => call.api === "bgapi" || call.api === "sofia")).toEqual([]);
  return data;
}

/** The key property: decoded once (mod_curl), then as a form, the value is the JSON byte for byte. */
function expectRoundTrip(postData: string, json: Buffer): void {
  const body = modCurlDecode(postData).toString("latin1");
  // What goes on the wire is a plain form body: one field, nothing a form parser would split on.
  expect(body).toMatch(/^event=[A-Za-z0-9\-_.~%]*$/);
  const value = body.slice("event=".length);
  const decoded = decodeURIComponent(value);
  expect(Buffer.from(decoded, "utf8").equals(json)).toBe(true);
  expect(decoded).toBe(json.toString("utf8"));
  // The edge's own form reader, as its event route reads the body, gets the same text.
  expect(parseForm(body).get("event")).toBe(json.toString("utf8"));
}

const warnings = (run: Run) => run.logs.filter((log) => log.level === "WARNING");

describe("whistle_edge_events.lua (real Lua, real captured events)", () => {
  it("has a Lua interpreter (lua5.4 or lua5.3)", () => {
    expect(lua()).toMatch(/lua5\.[34]$/);
  });

  describe.each([
    "event-sofia_register.json",
    "event-sofia_unregister.json",
    "event-sofia_unregister-with-edge-variable.json",
    "event-sofia_expire.json",
  ])("%s", (name) => {
    it("is posted once through bgapi curl, and the edge gets the exact JSON back", () => {
      const event = fixture(name);
      const run = runOne(GOOD_GLOBALS, event);
      expectRoundTrip(expectPost(run), event.json);
      expect(warnings(run)).toEqual([]);
    });
  });

  it("skips a sofia::register that carries edge_binding=refreshed", () => {
    const event = fixture("event-sofia_register-refresh-with-edge-variable.json");
    expect(event.headers).toContainEqual(["edge_binding", "refreshed"]);
    const run = runOne(GOOD_GLOBALS, event);
    expect(run.executes).toEqual([]);
    expect(warnings(run)).toEqual([]);
  });

  it("still posts the unregister that carries edge_binding=refreshed", () => {
    const event = fixture("event-sofia_unregister-with-edge-variable.json");
    expect(event.headers).toContainEqual(["edge_binding", "refreshed"]);
    expectPost(runOne(GOOD_GLOBALS, event));
  });

  it.each(["event-sofia_pre_register.json", "event-sofia_register_attempt.json"])(
    "does not post %s (not a posted subclass)",
    (name) => {
      const run = runOne(GOOD_GLOBALS, fixture(name));
      expect(run.executes).toEqual([]);
      expect(warnings(run)).toEqual([]);
    },
  );

  it("posts a HEARTBEAT, and values with spaces, '+', '&', '%', '=' and quotes round-trip", () => {
    const event = fromJson(
      JSON.stringify({
        "Event-Name": "HEARTBEAT",
        "Core-UUID": "3dd80268-4faa-4fb3-9bb3-0564fa47404c",
        "FreeSWITCH-Hostname": "vm",
        "Event-Info": "System Ready",
        "Up-Time": "0 years, 0 days, 1 hour, 2 minutes, 3 seconds",
        "Session-Count": "0",
        "Odd-Value": 'a b+c&d=e%20f%%25 100% "quoted" back\\slash',
      }),
    );
    const run = runOne(GOOD_GLOBALS, event);
    expectRoundTrip(expectPost(run, EDGE_URL, CREDENTIAL, "heartbeat"), event.json);
    expect(run.logs.some((log) => log.message.includes("HEARTBEAT"))).toBe(true);
  });

  it("round-trips a register whose JSON has '+', '&', '%' and non-ASCII (the double encoding)", () => {
    const original = readFileSync(join(fixtures, "event-sofia_register.json"), "utf8");
    const needle = '"user-agent": "sipp-xmlcurl-test"';
    expect(original).toContain(needle);
    const event = fromJson(original.replace(needle, '"user-agent": "Yealink T54W 96.86.0.70 +&% é"'));
    expect(event.headers).toContainEqual(["user-agent", "Yealink T54W 96.86.0.70 +&% é"]);
    const postData = expectPost(runOne(GOOD_GLOBALS, event));
    expectRoundTrip(postData, event.json);
    // Encoded only once, mod_curl's decoding would hand the edge raw '+', '&' and '%'.
    expect(modCurlDecode(postData).toString("latin1")).not.toMatch(/[+&\s]/);
  });

  describe.each([
    ["no edge_url", { edge_switch_credential: CREDENTIAL }],
    ["no credential", { edge_url: EDGE_URL }],
    ["neither", {}],
    ["an empty edge_url", { edge_url: "", edge_switch_credential: CREDENTIAL }],
    ["an empty credential", { edge_url: EDGE_URL, edge_switch_credential: "" }],
  ])("with %s", (_label, globals: Record<string, string>) => {
    it("posts nothing and warns once per FreeSWITCH run, not once per event", () => {
      const result = runHook(globals, [fixture("event-sofia_register.json"), fixture("event-sofia_unregister.json")]);
      const [first, second] = result.runs;
      expect(first.errors).toEqual([]);
      expect(second.errors).toEqual([]);
      expect(first.executes).toEqual([]);
      expect(second.executes).toEqual([]);
      expect(warnings(first)).toHaveLength(1);
      expect(warnings(first)[0].message).toMatch(/edge_url or edge_switch_credential/);
      expect(warnings(second)).toEqual([]);
      expect(result.globals.edge_events_warned).toBe("true");
    });
  });

  it.each([
    ["a credential with a space", { edge_url: EDGE_URL, edge_switch_credential: "abc def" }],
    ["an edge_url with a space", { edge_url: "https://edge.example.net/a b", edge_switch_credential: CREDENTIAL }],
  ])("posts nothing with %s (mod_curl would split the command)", (_label, globals) => {
    const run = runOne(globals, fixture("event-sofia_register.json"));
    expect(run.executes).toEqual([]);
    expect(warnings(run)).toHaveLength(1);
  });

  it.each(["https://edge.example.net/", "https://edge.example.net//"])(
    "does not double the slash of edge_url %s",
    (edgeUrl) => {
      const event = fixture("event-sofia_register.json");
      const globals = { edge_url: edgeUrl, edge_switch_credential: CREDENTIAL };
      const run = runOne(globals, event);
      const postData = expectPost(run, EDGE_URL, CREDENTIAL, "event", globals);
      expectRoundTrip(postData, event.json);
    },
  );

  it("keeps a path prefix in edge_url", () => {
    const globals = { edge_url: "http://127.0.0.1:8787/edge/", edge_switch_credential: CREDENTIAL };
    const run = runOne(globals, fixture("event-sofia_expire.json"));
    expectPost(run, "http://127.0.0.1:8787/edge", CREDENTIAL, "event", globals);
  });
});

describe("whistle_edge_events.lua post run: an event the edge did not answer is kept", () => {
  const spooled = (run: Run) => run.executes.filter((call) => call.api === "sql" && call.args.startsWith("INSERT INTO spool"));

  it.each([0, 502, 503])("with HTTP %i: spooled in order of the switch's clock, standby on, a deliverer started", (status) => {
    const event = fixture("event-sofia_unregister.json");
    const handOff = expectHandOff(runOne(GOOD_GLOBALS, event));
    const result = runHook(GOOD_GLOBALS, [], { args: handOff, curlAnswer: JSON.stringify({ status_code: String(status), body: "" }) });
    const [run] = result.runs;
    expect(run.errors).toEqual([]);
    const data = expectCurl(run);
    const stamp = JSON.parse(event.json.toString("utf8"))["Event-Date-Timestamp"];
    expect(spooled(run).map((call) => call.args)).toEqual([`INSERT INTO spool (stamp, kind, body) VALUES (${stamp}, 'event', '${data}')`]);
    expect(run.executes.filter((call) => call.api === "sofia")).toEqual([{ api: "sofia", args: "global standby on" }]);
    expect(run.executes.filter((call) => call.api === "bgapi")).toEqual([{ api: "bgapi", args: "lua whistle_edge_events.lua deliver" }]);
    expect(result.globals.edge_standby).toBe("true");
  });

  it("a post that times out while another thread ends the standby leaves the profiles as the variable says", () => {
    // Another thread reached the edge and set edge_standby=false while this one's "standby on" ran:
    // the profiles must end out of standby, or no later answer would ever switch them back.
    const handOff = expectHandOff(runOne(GOOD_GLOBALS, fixture("event-sofia_unregister.json")));
    const result = runHook(GOOD_GLOBALS, [], { args: handOff, curlAnswer: JSON.stringify({ status_code: "0", body: "" }), race: "edge_standby=false" });
    const [run] = result.runs;
    expect(run.errors).toEqual([]);
    expect(run.executes.filter((call) => call.api === "sofia").map((call) => call.args)).toEqual(["global standby on", "global standby off"]);
    expect(result.globals.edge_standby).toBe("false");
  });

  it("with HTTP 401 (a credential refused): spooled for a later try, no standby", () => {
    const run = runPost(GOOD_GLOBALS, expectHandOff(runOne(GOOD_GLOBALS, fixture("event-sofia_register.json"))), 401);
    expect(spooled(run)).toHaveLength(1);
    expect(run.executes.filter((call) => call.api === "sofia")).toEqual([]);
  });

  it.each([400, 403, 404, 422])("with HTTP %i (the edge will never take it): dropped with a warning", (status) => {
    const run = runPost(GOOD_GLOBALS, expectHandOff(runOne(GOOD_GLOBALS, fixture("event-sofia_register.json"))), status);
    expect(spooled(run)).toEqual([]);
    expect(run.executes.filter((call) => call.api === "bgapi")).toEqual([]);
    expect(warnings(run).map((log) => log.message)).toEqual([`whistle_edge_events: the edge refused the event (HTTP ${status})\n`]);
  });

  it("refuses arguments that are not an event body (nothing posted, nothing spooled)", () => {
    const run = runPost(GOOD_GLOBALS, "post event 1 event=a'b", 200);
    expect(run.executes).toEqual([]);
    expect(run.logs.map((log) => log.level)).toEqual(["ERR"]);
  });
});

describe("whistle_edge_events.lua after a refused registration (sofia::register_failure): a probe, never standby by itself", () => {
  const EPOCH = 1795560948;
  const failure = () => fixture("event-sofia_register_failure.json");
  const sofia = (run: Run) => run.executes.filter((call) => call.api === "sofia");

  it("asks the edge at once: the event handed off as a heartbeat (never queued behind spooled events), the probe's time remembered", () => {
    const event = failure();
    const result = runHook(GOOD_GLOBALS, [event], undefined, EPOCH);
    const [run] = result.runs;
    expect(run.errors).toEqual([]);
    expectRoundTrip(expectPost(run, EDGE_URL, CREDENTIAL, "heartbeat"), event.json);
    expect(result.globals.edge_probe_at).toBe(String(EPOCH));
    expect(result.globals.edge_standby).toBeUndefined();
  });

  it("a wrong password with the edge answering (HTTP 200): no standby", () => {
    const handOff = expectHandOff(runOne(GOOD_GLOBALS, failure()), "heartbeat");
    const result = runHook(GOOD_GLOBALS, [], { args: handOff, curlAnswer: JSON.stringify({ status_code: "200", body: '{"outcome":"ignored"}' }) });
    expect(result.runs[0]!.errors).toEqual([]);
    expect(sofia(result.runs[0]!)).toEqual([]);
    expect(result.globals.edge_standby).toBeUndefined();
  });

  it.each([0, 503])("the edge unreachable (HTTP %i): standby on, kept for the deliverer", (status) => {
    const handOff = expectHandOff(runOne(GOOD_GLOBALS, failure()), "heartbeat");
    const result = runHook(GOOD_GLOBALS, [], { args: handOff, curlAnswer: JSON.stringify({ status_code: String(status), body: "" }) });
    const [run] = result.runs;
    expect(sofia(run!)).toEqual([{ api: "sofia", args: "global standby on" }]);
    expect(run!.executes.filter((call) => call.api === "bgapi")).toEqual([{ api: "bgapi", args: "lua whistle_edge_events.lua deliver" }]);
    expect(result.globals.edge_standby).toBe("true");
  });

  it("at most one probe every 2 s of the switch's clock: a burst of refusals asks the edge once", () => {
    const burst = runHook(GOOD_GLOBALS, [failure(), failure(), failure()], undefined, EPOCH);
    expect(burst.runs.map((run) => run.executes.filter((call) => call.api === "bgapi").length)).toEqual([1, 0, 0]);
    const oneSecondLater = runHook({ ...GOOD_GLOBALS, edge_probe_at: String(EPOCH - 1) }, [failure()], undefined, EPOCH);
    expect(oneSecondLater.runs[0]!.executes.filter((call) => call.api !== "strepoch")).toEqual([]);
    const twoSecondsLater = runHook({ ...GOOD_GLOBALS, edge_probe_at: String(EPOCH - 2) }, [failure()], undefined, EPOCH);
    expectHandOff(twoSecondsLater.runs[0]!, "heartbeat");
    expect(twoSecondsLater.globals.edge_probe_at).toBe(String(EPOCH));
  });

  it("no probe while in standby (the deliverer is already asking)", () => {
    const run = runOne({ ...GOOD_GLOBALS, edge_standby: "true" }, failure());
    expect(run.executes).toEqual([]);
  });

  it("a HEARTBEAT is still posted inside the probe gap (the gap holds only probes)", () => {
    const heartbeat = fromJson(JSON.stringify({ "Event-Name": "HEARTBEAT", "Event-Date-Timestamp": "1795560948000000" }));
    const run = runHook({ ...GOOD_GLOBALS, edge_probe_at: String(EPOCH) }, [heartbeat], undefined, EPOCH).runs[0]!;
    expectHandOff(run, "heartbeat");
  });
});
