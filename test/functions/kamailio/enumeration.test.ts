// Enumeration: a username the account does not have, a disabled device and a known device with a
// wrong password get the same answer after the same work (the same statements, rows read and
// written, commits and alarms in the account's object), on both switch paths. Time is measured and
// reported, not asserted (docs/security.md, "Enumeration").
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import registerBody from "../../fixtures/freeswitch/directory-sip_auth-REGISTER-user1000.body.txt?raw";
import { registrarForId } from "../../../functions/accounts";
import { addDevice, createSwitch, freshAccount, isNotFound, postXml, withField, type TestSwitch } from "../freeswitch/support";
import { answer, challengeOf, kamailio } from "./support";
import { call } from "../../helpers";

const REALM = "acme.test";
let accountId: string;
let A: TestSwitch;

beforeAll(async () => {
  // A high threshold: these tests count work, not locks.
  accountId = (await freshAccount(REALM, { lockout: { threshold: 100, deviceThreshold: 1000 } })).id;
  await addDevice(accountId, "1001", "alice-pass-1001");
  const disabled = await addDevice(accountId, "1009", "off-pass-1009");
  await call("PATCH", `/accounts/${accountId}/devices/${disabled.id}`, { body: { enabled: false } });
  A = await createSwitch("sip:127.0.0.2:5060");
});

let calls = 0;
/** REGISTER as `username` with `password` (challenge, then answer): the final decision. */
async function attempt(username: string, password: string, path: "authorize" | "locate" = "authorize") {
  const callId = `enum-${++calls}`;
  const body =
    path === "authorize"
      ? (authorization: string) => ({ method: "REGISTER", requestUri: "sip:acme.test", to: `sip:${username}@acme.test`, authorization, source: "198.51.100.9:5060", contact: "", callId, cseq: "1" })
      : (authorization: string) => ({ method: "INVITE", requestUri: "sip:1001@acme.test", from: `sip:${username}@acme.test`, authorization, source: "198.51.100.9:5060", callId });
  const first = await kamailio(path, body(""), A);
  const method = path === "authorize" ? "REGISTER" : "INVITE";
  const uri = path === "authorize" ? "sip:acme.test" : "sip:1001@acme.test";
  return (await kamailio(path, body(await answer(first.body.headers, username, password, method, uri)), A)).body;
}

/** The shape of a decision: status, reason, header names and challenge parameter names. */
function shape(decision: { status: number; reason: string; headers: string; targets?: unknown }) {
  return {
    status: decision.status,
    reason: decision.reason,
    headers: decision.headers.split("\r\n").filter(Boolean).map((line) => line.slice(0, line.indexOf(":"))),
    params: Object.keys(challengeOf(decision.headers)).sort(),
    targets: decision.targets,
  };
}

const stub = () => registrarForId(env, accountId)!;

async function workOf(username: string, password: string) {
  const before = await stub().usage();
  const decision = await attempt(username, password);
  const after = await stub().usage();
  return {
    decision,
    work: {
      rowsRead: after.rowsRead - before.rowsRead,
      rowsWritten: after.rowsWritten - before.rowsWritten,
      alarmsSet: after.alarmsSet - before.alarmsSet,
      groupCommits: after.groupCommits - before.groupCommits,
    },
  };
}

describe("unknown and known users look alike", () => {
  it("Kamailio: an unknown user, a disabled device and a wrong password get the same challenge", async () => {
    const known = shape(await attempt("1001", "wrong-password"));
    expect(known).toMatchObject({ status: 401, reason: "Unauthorized", headers: ["WWW-Authenticate", "WWW-Authenticate"] });
    expect(shape(await attempt("4040", "wrong-password"))).toEqual(known);
    expect(shape(await attempt("1009", "off-pass-1009"))).toEqual(known);
    const caller = shape(await attempt("1001", "wrong-password", "locate"));
    expect(caller).toMatchObject({ status: 407, headers: ["Proxy-Authenticate", "Proxy-Authenticate"] });
    expect(shape(await attempt("4040", "wrong-password", "locate"))).toEqual(caller);
  });

  it("Kamailio: the account's object does the same work for each (rows read and written, commits, alarms)", async () => {
    // One attempt each first: the first sight of a name reads it once, then it is remembered.
    // (SQLite counts the index entry after a key's last row as read, so the key that sorts last in
    // the failure table reads one row less; "0404" is not last, as a real device's key is not.)
    for (const username of ["1001", "0404", "1009"]) await workOf(username, "wrong-password");
    for (let round = 0; round < 3; round++) {
      const known = await workOf("1001", "wrong-password");
      const unknown = await workOf("0404", "wrong-password");
      const disabled = await workOf("1009", "off-pass-1009");
      expect(known.work.rowsWritten).toBeGreaterThan(0);
      expect(unknown.work).toEqual(known.work);
      expect(disabled.work).toEqual(known.work);
    }
  });

  it("FreeSWITCH: an unknown user and a wrong password get the very same not-found document", async () => {
    const account = await freshAccount("127.0.0.4");
    await addDevice(account.id, "1000", "s3cret-1000");
    const wrong = await postXml(withField(registerBody, "sip_auth_response", "1".repeat(32)), A.basic);
    const unknown = await postXml(withField(withField(registerBody, "user", "1999"), "sip_auth_username", "1999"), A.basic);
    expect(isNotFound(wrong.text)).toBe(true);
    expect(unknown.text).toBe(wrong.text);
    expect(unknown.status).toBe(wrong.status);
  });

  it("time: measured and reported for docs/security.md, not asserted", async () => {
    const samples: Record<string, number[]> = { known: [], unknown: [] };
    for (let i = 0; i < 40; i++) {
      for (const [name, username] of [["known", "1001"], ["unknown", "4042"]] as const) {
        const started = performance.now();
        await attempt(username, "wrong-password");
        samples[name]!.push(performance.now() - started);
      }
    }
    const quantile = (values: number[], q: number) => [...values].sort((a, b) => a - b)[Math.floor(q * (values.length - 1))]!;
    for (const [name, values] of Object.entries(samples)) {
      console.info(`enumeration timing ${name}: p10 ${quantile(values, 0.1).toFixed(2)} ms, p50 ${quantile(values, 0.5).toFixed(2)} ms, p90 ${quantile(values, 0.9).toFixed(2)} ms (n=${values.length}, challenge + answer)`);
    }
    expect(samples.known).toHaveLength(40);
  });
});
