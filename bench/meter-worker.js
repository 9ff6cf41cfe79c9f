// Bench-only helper Worker, served beside the edge by bench/run.mjs and never deployed. It binds the
// SAME AccountRegistrar namespace as the edge (Miniflare: durableObjects.scriptName = the edge), so
// it can read an account object's cumulative SQL usage (`usage()`) and seed big accounts through the
// object's existing RPC methods (createDevice, register) in batches, with no change to the object.
// Objects are addressed as the switch callbacks address them: idFromName(realm).

const json = (value, status = 200) => Response.json(value, { status });

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const realm = url.searchParams.get("realm");
    if (!realm) return json({ error: "realm is required" }, 400);
    const stub = env.REGISTRAR.get(env.REGISTRAR.idFromName(realm));
    const n = (name, fallback) => Number(url.searchParams.get(name) ?? fallback);

    switch (url.pathname) {
      case "/usage":
        return json(await stub.usage());
      case "/count":
        return json({ bindings: await stub.storedBindingCount() });
      case "/seed/devices": {
        // Devices `${prefix}${from}` … `${prefix}${from + count - 1}`, password `pw-<username>`.
        const prefix = url.searchParams.get("prefix") ?? "";
        const from = n("from", 0);
        const count = Math.min(n("count", 500), 2000);
        const results = await Promise.all(
          Array.from({ length: count }, (_, i) => {
            const username = `${prefix}${from + i}`;
            return stub.createDevice({ username, password: `pw-${username}` });
          }),
        );
        const failed = results.filter((r) => !r.ok);
        return json({ created: count - failed.length, failed: failed.length, first: failed[0]?.refusal ?? null });
      }
      case "/seed/bindings": {
        // One binding per device, contact sip:<username>@10.<…>:5060, Call-ID seed-<username>.
        const prefix = url.searchParams.get("prefix") ?? "";
        const from = n("from", 0);
        const count = Math.min(n("count", 500), 2000);
        const expires = n("expires", 3600);
        const cseq = n("cseq", 1);
        const switchId = url.searchParams.get("switchId") ?? undefined;
        const results = await Promise.all(
          Array.from({ length: count }, (_, i) => {
            const k = from + i;
            const username = `${prefix}${k}`;
            return stub.register(username, {
              aor: `sip:${username}@${realm}`,
              callId: `seed-${username}`,
              cseq,
              contacts: [{ uri: `sip:${username}@10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}:5060` }],
              expires,
              received: `10.${(k >> 16) & 255}.${(k >> 8) & 255}.${k & 255}:5060`,
              ...(switchId && { switchId }),
            });
          }),
        );
        const failed = results.filter((r) => r.status !== "registered");
        return json({ registered: count - failed.length, failed: failed.length, first: failed[0] ?? null });
      }
      default:
        return json({ error: "no such route" }, 404);
    }
  },
};
