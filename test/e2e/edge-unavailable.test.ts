// When the switch cannot get a decision from the edge (wrong switch credential, edge down), the
// device gets 500 "Edge unavailable" at once instead of waiting for a timeout.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testBed } from "./harness/context";
import { freeTcpPort, freeUdpPorts } from "./harness/ports";
import { startKamailio, type KamailioSwitch } from "./harness/kamailio";
import { describeRun, receivedStartLines, sipp, stopAllSipp } from "./harness/sipp";

const bed = testBed();
const device = bed.fleet.devices["1001"]!;
const started: KamailioSwitch[] = [];

afterAll(async () => {
  await stopAllSipp();
  for (const sw of started) await sw.stop();
});

async function extraSwitch(name: string, edgeHostPort: string, credential: string): Promise<KamailioSwitch> {
  // Not a fleet switch: its own free port on 127.0.0.1, a real switch id, the credential given.
  const sw = await startKamailio(
    { name, ip: "127.0.0.1", port: await freeUdpPorts(1), edgeHostPort, switchId: bed.fleet.switches.a.id, credential, peers: [] },
    bed.logDir,
  );
  started.push(sw);
  return sw;
}

describe("a switch that cannot reach a decision", () => {
  let wrongCredential: KamailioSwitch;
  let edgeDown: KamailioSwitch;

  beforeAll(async () => {
    const edgeHostPort = new URL(bed.fleet.edge.base).host;
    [wrongCredential, edgeDown] = await Promise.all([
      extraSwitch("wrong-credential", edgeHostPort, "wsc1.not.valid"),
      // A port nothing listens on: libcurl error 7 (connection refused).
      extraSwitch("edge-down", `127.0.0.1:${await freeTcpPort()}`, "wsc1.not.valid"),
    ]);
  });

  it("answers 500 Edge unavailable when the edge refuses its credential (HTTP 401), in one edge request", async () => {
    const before = bed.edgeCount("/kamailio/v1/authorize");
    const run = await sipp(bed.logDir, { name: "wrong-credential", scenario: "register-refused", remote: `127.0.0.1:${wrongCredential.port}`, device, final: "500" });
    expect(run.code, describeRun(run)).toBe(0);
    expect(receivedStartLines(run)).toEqual(["SIP/2.0 500 Edge unavailable"]);
    const requests = await bed.edgeRequestsSince("/kamailio/v1/authorize", before, 1);
    expect(requests).toHaveLength(1);
    expect(requests[0]).toContain("POST /kamailio/v1/authorize 401");
    expect(wrongCredential.output()).toMatch(/edge \/authorize: HTTP result 401/);
  });

  it("answers 500 Edge unavailable when the edge is not reachable (libcurl error 7)", async () => {
    const run = await sipp(bed.logDir, { name: "edge-down", scenario: "register-refused", remote: `127.0.0.1:${edgeDown.port}`, device, final: "500" });
    expect(run.code, describeRun(run)).toBe(0);
    expect(receivedStartLines(run)).toEqual(["SIP/2.0 500 Edge unavailable"]);
    expect(edgeDown.output()).toMatch(/edge \/authorize: HTTP result 7 /);
  });
});
