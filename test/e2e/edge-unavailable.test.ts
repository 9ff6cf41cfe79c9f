// When the switch cannot get a decision from the edge: a wrong switch credential is a configuration
// error (500 at once); an edge that is stopped (connection refused) or that swallows the request (no
// answer within EDGE_TIMEOUT) is an outage, answered 503 with a Retry-After, so phones try again
// soon instead of backing off as they do after a 403 or 500.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBed } from "./harness/context";
import { startBlackhole, type Blackhole } from "./harness/blackhole";
import { freeTcpPort, freeUdpPorts } from "./harness/ports";
import { startKamailio, type KamailioSwitch } from "./harness/kamailio";
import { describeRun, receivedMessages, receivedStartLines, sipp, stopAllSipp, timeline } from "./harness/sipp";

const bed = testBed();
const device = bed.fleet.devices["1001"]!;
const started: KamailioSwitch[] = [];
let blackhole: Blackhole;

afterAll(async () => {
  await stopAllSipp();
  for (const sw of started) await sw.stop();
  await blackhole?.close();
});

async function extraSwitch(name: string, edgeHostPort: string, credential: string, retryAfter?: number): Promise<KamailioSwitch> {
  // Not a fleet switch: its own free port on 127.0.0.1, a real switch id, the credential given.
  const sw = await startKamailio(
    {
      name,
      ip: "127.0.0.1",
      port: await freeUdpPorts(1),
      edgeHostPort,
      switchId: bed.fleet.switches.a.id,
      credential,
      peers: [],
      ...(retryAfter !== undefined && { retryAfter }),
    },
    bed.logDir,
  );
  started.push(sw);
  return sw;
}

/** The Retry-After header of the last message received, as seconds. */
function retryAfterOf(messages: string[]): number | null {
  const match = /^Retry-After:\s*(\d+)\s*$/im.exec(messages.at(-1) ?? "");
  return match ? Number(match[1]) : null;
}

describe("a switch that cannot reach a decision", () => {
  let wrongCredential: KamailioSwitch;
  let edgeDown: KamailioSwitch;
  let edgeSilent: KamailioSwitch;

  beforeAll(async () => {
    const edgeHostPort = new URL(bed.fleet.edge.base).host;
    blackhole = await startBlackhole();
    [wrongCredential, edgeDown, edgeSilent] = await Promise.all([
      extraSwitch("wrong-credential", edgeHostPort, "wsc1.not.valid"),
      // A port nothing listens on: libcurl error 7 (connection refused). Default Retry-After base.
      extraSwitch("edge-down", `127.0.0.1:${await freeTcpPort()}`, "wsc1.not.valid"),
      // A listener that never answers: libcurl error 28 after EDGE_TIMEOUT (2 s). Retry-After base 4.
      extraSwitch("edge-silent", `127.0.0.1:${blackhole.port}`, "wsc1.not.valid", 4),
    ]);
  });

  it("answers 500 Edge unavailable when the edge refuses its credential (HTTP 401), in one edge request", async () => {
    const before = bed.edgeCount("/kamailio/v1/authorize");
    const run = await sipp(bed.logDir, { name: "wrong-credential", scenario: "register-refused", remote: `127.0.0.1:${wrongCredential.port}`, device, final: "500" });
    expect(run.code, describeRun(run)).toBe(0);
    expect(receivedStartLines(run)).toEqual(["SIP/2.0 500 Edge unavailable"]);
    expect(retryAfterOf(receivedMessages(run))).toBeNull();
    const requests = await bed.edgeRequestsSince("/kamailio/v1/authorize", before, 1);
    expect(requests).toHaveLength(1);
    expect(requests[0]).toContain("POST /kamailio/v1/authorize 401");
    expect(wrongCredential.output()).toMatch(/edge \/authorize: HTTP result 401/);
  });

  it("answers 503 with Retry-After 20-30 s at once when the edge is stopped (libcurl error 7), to a REGISTER and to a call", async () => {
    const run = await sipp(bed.logDir, { name: "edge-down", scenario: "register-refused", remote: `127.0.0.1:${edgeDown.port}`, device, final: "503" });
    expect(run.code, describeRun(run)).toBe(0);
    expect(receivedStartLines(run)).toEqual(["SIP/2.0 503 Edge unavailable"]);
    const retryAfter = retryAfterOf(receivedMessages(run));
    expect(retryAfter).toBeGreaterThanOrEqual(20);
    expect(retryAfter).toBeLessThanOrEqual(30);
    expect(edgeDown.output()).toMatch(/edge \/authorize: HTTP result 7 /);

    const call = await sipp(bed.logDir, { name: "edge-down-call", scenario: "call-unavailable", remote: `127.0.0.1:${edgeDown.port}`, device, service: "1002", final: "503" });
    expect(call.code, describeRun(call)).toBe(0);
    expect(receivedStartLines(call).at(-1)).toBe("SIP/2.0 503 Edge unavailable");
    expect(retryAfterOf(receivedMessages(call))).toBeGreaterThanOrEqual(20);
    expect(edgeDown.output()).toMatch(/edge \/locate: HTTP result 7 /);
  });

  it("answers 503 with the configured Retry-After (4-6 s) once EDGE_TIMEOUT has passed when the edge swallows the request (libcurl error 28)", async () => {
    const accepted = blackhole.accepted();
    const run = await sipp(bed.logDir, { name: "edge-silent", scenario: "register-refused", remote: `127.0.0.1:${edgeSilent.port}`, device, final: "503" });
    expect(run.code, describeRun(run)).toBe(0);
    expect(receivedStartLines(run)).toEqual(["SIP/2.0 503 Edge unavailable"]);
    const retryAfter = retryAfterOf(receivedMessages(run));
    expect(retryAfter).toBeGreaterThanOrEqual(4);
    expect(retryAfter).toBeLessThanOrEqual(6);
    expect(edgeSilent.output()).toMatch(/edge \/authorize: HTTP result 28 /);
    expect(blackhole.accepted()).toBeGreaterThan(accepted);
    const trace = timeline(run);
    const waited = trace.at(-1)!.at - trace.find((m) => m.direction === "sent")!.at;
    console.log(`kamailio: edge swallowing requests, 503 ${waited.toFixed(0)} ms after the REGISTER`);
  });
});
