// GET /api/v1/metrics: the fleet's numbers gathered from where they are true. Each account's
// object answers for its bindings, authentications, lockouts, webhook deliveries and outbox (one
// RPC per account, in parallel: fine for hundreds of accounts, slow for tens of thousands — see
// docs/operations.md); the fleet monitor answers for the callbacks; the catalog for switch state.
import type { AccountMetrics } from "../../durable-objects/account-registrar/metrics";
import { accounts, switches } from "../../catalog/schema";
import { DEFAULT_LOST_AFTER_MS, switchState, type SwitchState } from "../../registrar/fleet";
import { registrarForId } from "../accounts";
import { catalog } from "../catalog";
import type { Env } from "../env";
import { DURATION_BUCKETS, flushCallbacks, type CallbackSeries } from "./callbacks";
import type { Family } from "./exposition";

/** Accounts asked at once. */
const PARALLEL = 50;
const STATES: SwitchState[] = ["alive", "draining", "lost", "unseen"];

export async function gatherFamilies(env: Env, now: number): Promise<Family[]> {
  await flushCallbacks(env);
  const db = catalog(env);
  const [accountRows, switchRows] = await Promise.all([
    db.select({ id: accounts.id }).from(accounts).all(),
    db.select({ id: switches.id, lastSeenAt: switches.lastSeenAt, draining: switches.draining }).from(switches).all(),
  ]);
  // A removed account's callback series go with it (the monitor forgets them).
  const callbacks = await env.FLEET.get(env.FLEET.idFromName("fleet")).callbackMetrics(accountRows.map((row) => row.id));
  const perAccount: AccountMetrics[] = [];
  for (let i = 0; i < accountRows.length; i += PARALLEL) {
    const answers = await Promise.all(accountRows.slice(i, i + PARALLEL).map((row) => registrarForId(env, row.id)?.metrics() ?? null));
    for (const answer of answers) if (answer) perAccount.push(answer);
  }
  const lostAfter = Number(env.SWITCH_LOST_AFTER_MS ?? DEFAULT_LOST_AFTER_MS) || DEFAULT_LOST_AFTER_MS;

  return [
    {
      name: "whistle_bindings",
      help: "Live registrations (bindings) per account and the switch holding them (switch=\"\" for none).",
      type: "gauge",
      samples: perAccount.flatMap((a) => a.bindings.map((b) => ({ labels: { account: a.accountId, switch: b.switch }, value: b.count }))),
    },
    {
      name: "whistle_authentications_total",
      help: "Device digest authentications by method (REGISTER, INVITE, OTHER) and outcome (ok, failed, locked: refused by a lock of its source or device).",
      type: "counter",
      samples: perAccount.flatMap((a) =>
        a.auth.map((x) => ({ labels: { account: a.accountId, switch: x.switch, method: x.method, outcome: x.outcome }, value: x.count })),
      ),
    },
    {
      name: "whistle_lockouts_total",
      help: "Locks set after failed authentications: scope source (one address locked out of a device) or device (the whole device), by the switch the locking failure came through.",
      type: "counter",
      samples: perAccount.flatMap((a) => a.lockouts.map((l) => ({ labels: { account: a.accountId, switch: l.switch, scope: l.scope }, value: l.count }))),
    },
    {
      name: "whistle_webhook_deliveries_total",
      help: "Webhook delivery attempts by outcome (ok; failed: to be retried; dead_lettered: the last attempt failed).",
      type: "counter",
      samples: perAccount.flatMap((a) =>
        (["ok", "failed", "dead_lettered"] as const).map((outcome) => ({ labels: { account: a.accountId, outcome }, value: a.deliveries[outcome] })),
      ),
    },
    {
      name: "whistle_event_outbox_depth",
      help: "Events the account's slowest webhook subscription has not passed yet.",
      type: "gauge",
      samples: perAccount.map((a) => ({ labels: { account: a.accountId }, value: a.outboxDepth })),
    },
    {
      name: "whistle_switch_state",
      help: "1 for the switch's current state (alive, draining, lost, unseen), 0 for the others.",
      type: "gauge",
      samples: switchRows.flatMap((row) => {
        const state = switchState({ lastSeenAt: row.lastSeenAt, draining: row.draining }, now, lostAfter);
        return STATES.map((s) => ({ labels: { switch: row.id, state: s }, value: s === state ? 1 : 0 }));
      }),
    },
    {
      name: "whistle_switch_last_seen_timestamp_seconds",
      help: "When the switch last called the edge (Unix seconds, as the catalog records it: within 10 s).",
      type: "gauge",
      samples: switchRows.filter((row) => row.lastSeenAt !== null).map((row) => ({ labels: { switch: row.id }, value: row.lastSeenAt! / 1000 })),
    },
    callbackHistogram(callbacks),
  ];
}

function callbackHistogram(series: CallbackSeries[]): Family {
  return {
    name: "whistle_callback_duration_seconds",
    help: "Switch callbacks by kind and how long the edge took to answer each (seconds, measured in the Worker).",
    type: "histogram",
    samples: series.flatMap((s) => {
      const labels = { account: s.account, switch: s.switch, kind: s.kind };
      let cumulative = 0;
      const buckets = DURATION_BUCKETS.map((bound, i) => {
        cumulative += s.buckets[i] ?? 0;
        return { suffix: "_bucket", labels: { ...labels, le: String(bound) }, value: cumulative };
      });
      return [
        ...buckets,
        { suffix: "_bucket", labels: { ...labels, le: "+Inf" }, value: s.count },
        { suffix: "_sum", labels, value: s.sumSeconds },
        { suffix: "_count", labels, value: s.count },
      ];
    }),
  };
}
