// Measured edge outages through two FreeSWITCH switches with the shipped files: phones registered on
// both switches refresh every REFRESH_S seconds (each with its own Call-ID and contact, as a phone
// does), and the edge is made unreachable for OUTAGE_S seconds, twice: its process stopped (the
// switches meet a refused connection) and swallowing every request (packets dropped: each request
// waits out the 2 s timeout). For each outage: what every REGISTER got, what a call between two
// registered phones got, and after recovery how long until each phone was registered again, the
// bindings lost, and the events the hook replayed. The switches run the shipped heartbeat (20 s) and
// the edge its default fleet timing (FREESWITCH_BED_TIMING=production, set in the bench's config).
// Written to bench/results/<date>-outage-freeswitch[-OUTAGE_LABEL].json and printed as the table of
// docs/operations.md ("Edge outages").
import { mkdirSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { optionsStatus } from "../../test/e2e/harness/kamailio";
import { sleep } from "../../test/e2e/harness/ports";
import { receivedStartLines, stopAllSipp } from "../../test/e2e/harness/sipp";
import { FLEET_TIMING, type SwitchName } from "../../test/freeswitch/harness/bed";
import { testBed, type Phone } from "../../test/freeswitch/harness/context";
import { finalAnswer, refreshLoop, registeredAgain, summary, type Attempt } from "./answers";

const REFRESH_S = Number(process.env.OUTAGE_REFRESH_S ?? 30);
const OUTAGE_S = Number(process.env.OUTAGE_S ?? 60);
const LABEL = process.env.OUTAGE_LABEL ?? "";
const bed = testBed();


const phones: { phone: Phone; sw: SwitchName }[] = [
  { phone: bed.phone(bed.bed.devices["1001"]!), sw: "a" },
  { phone: bed.phone(bed.bed.devices["1002"]!), sw: "a" },
  { phone: bed.phone(bed.bed.devices["1003"]!), sw: "b" },
  { phone: bed.phone(bed.bed.devices["1004"]!), sw: "b" },
];
const attempts: Attempt[] = [];
let running = true;

async function registerOnce(entry: { phone: Phone; sw: SwitchName }, label: string): Promise<Attempt> {
  const run = await bed.register(`outage-${label}-${entry.phone.device.username}-${attempts.length}`, entry.sw, entry.phone, { expires: 120 });
  const { answer, ms } = finalAnswer(run);
  const attempt: Attempt = { phone: entry.phone.device.username, switch: entry.sw, at: Date.now(), answer, ms };
  attempts.push(attempt);
  return attempt;
}

// The callee of the test calls: a phone outside the refresh loops (its SIP port answers the call).
const callee = bed.phone(bed.bed.devices["1005"]!);

/** A call from a phone on B to a phone on A: during an outage to a refreshing phone, afterwards to the callee. */
async function callOnce(label: string, answered: boolean): Promise<string> {
  const caller = phones[2]!;
  let ringing: Awaited<ReturnType<typeof bed.answer>> | null = null;
  if (answered) {
    await bed.register(`outage-callee-${label}`, "a", callee, { expires: 120 });
    ringing = await bed.answer(`outage-uas-${label}`, callee);
  }
  const run = await bed.call(`outage-call-${label}`, caller.sw, caller.phone, answered ? callee.device.username : phones[0]!.phone.device.username);
  await ringing?.stop();
  const lines = receivedStartLines(run);
  return lines.find((l) => /^SIP\/2\.0 [2-6]\d\d/.test(l) && !l.startsWith("SIP/2.0 407")) ?? lines.at(-1) ?? "no answer";
}

afterAll(async () => {
  running = false;
  await stopAllSipp();
  await bed.control("/edge/answer").catch(() => undefined);
  await bed.control("/edge/start").catch(() => undefined);
});

it("measures two edge outages", async () => {
  await bed.clearRegistrations();
  for (const entry of phones) expect((await registerOnce(entry, "first")).answer).toBe("SIP/2.0 200 OK");
  const loops = phones.map((entry, i) => refreshLoop(() => registerOnce(entry, "refresh"), REFRESH_S, (i * REFRESH_S * 1000) / phones.length, () => running));
  const results: unknown[] = [];

  for (const kind of ["refused", "dropped"] as const) {
    await sleep(REFRESH_S * 1000);
    const before = await bed.registrations();
    const requestsBefore = (await bed.requests()).length;
    const start = Date.now();
    const loadBefore = loadavg().map((x) => Math.round(x * 100) / 100);
    await bed.control(kind === "refused" ? "/edge/stop" : "/edge/swallow");
    const stoppedAt = Date.now();
    // When each switch turned to 503 (standby), polled every 250 ms.
    const standbyAt: Partial<Record<SwitchName, number>> = {};
    let callDuring = "";
    while (Date.now() - stoppedAt < OUTAGE_S * 1000) {
      for (const sw of ["a", "b"] as const) {
        if (standbyAt[sw] === undefined && (await optionsStatus(bed.bed.switches[sw].ip, 5060)) === 503) standbyAt[sw] = Date.now() - stoppedAt;
      }
      if (!callDuring && Date.now() - stoppedAt > OUTAGE_S * 500) callDuring = await callOnce(`${kind}-during`, false);
      await sleep(250);
    }
    await bed.control(kind === "refused" ? "/edge/start" : "/edge/answer");
    const backAt = Date.now();
    const during = attempts.filter((a) => a.at >= stoppedAt && a.at < backAt);
    // Every phone registered again: its first 200 after the edge is back.
    const again = await registeredAgain(attempts, phones.length, backAt, REFRESH_S * 2000);
    const callAfter = await callOnce(`${kind}-after`, true);
    const after = await bed.registrations();
    const key = (r: { contact: string }) => r.contact;
    // The callee registers only for the call after recovery: count the looped phones' bindings.
    const looped = (list: { contact: string; deviceId?: string }[]) => list.filter((r) => r.deviceId !== callee.device.id);
    const lost = looped(before).filter((b) => !after.some((a) => key(a) === key(b))).length;
    const requests = (await bed.requests()).slice(requestsBefore);
    const failedEvents = requests.filter((r) => r.kind === "event" && r.event !== "HEARTBEAT" && r.status !== 200);
    results.push({
      outage: kind,
      seconds: Math.round((backAt - start) / 1000),
      standbyAfterMs: standbyAt,
      registerAnswers: summary(during),
      registerMs: Object.fromEntries(
        Object.keys(summary(during)).map((answer) => {
          const ms = during.filter((a) => a.answer === answer).map((a) => a.ms).sort((x, y) => x - y);
          return [answer, { min: Math.round(ms[0] ?? NaN), max: Math.round(ms.at(-1) ?? NaN) }];
        }),
      ),
      callDuring,
      callAfter,
      registeredAgainAfterMs: again,
      allRegisteredWithinOneRefresh: Object.keys(again).length === phones.length && Object.values(again).every((ms) => ms <= REFRESH_S * 1000),
      bindingsBefore: looped(before).length,
      bindingsAfter: looped(after).length,
      bindingsLost: lost,
      eventsNotDelivered: failedEvents.length,
      loadAverage: { before: loadBefore, end: loadavg().map((x) => Math.round(x * 100) / 100) },
    });
    console.log(JSON.stringify(results.at(-1)));
  }
  running = false;
  await Promise.all(loops);

  const out = join(import.meta.dirname, "..", "results");
  mkdirSync(out, { recursive: true });
  const file = join(out, `${new Date().toISOString().slice(0, 10)}-outage-freeswitch${LABEL ? `-${LABEL}` : ""}.json`);
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), heartbeatSeconds: FLEET_TIMING.heartbeatSeconds, refreshSeconds: REFRESH_S, outageSeconds: OUTAGE_S, phones: phones.map((p) => `${p.phone.device.username}@${p.sw}`), results, attempts }, null, 2));
  console.log(`written ${file}`);
});
