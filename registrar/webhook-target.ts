// Where a webhook may be delivered. In production only https to a public host: the URL is read by
// the WHATWG parser (which also turns decimal, octal and hex IPv4 forms into dotted decimal), the
// host name is normalised (case, trailing dots), and an address literal is classified by ipaddr.js.
// IPv4 must be ordinary unicast; IPv6 must be ordinary unicast inside 2000::/3, so every transition
// form that embeds an IPv4 address (mapped, compatible, NAT64, 6to4, Teredo) is refused whole.
// The same rule runs when a subscription is created and before every delivery.
import ipaddr from "ipaddr.js";

/**
 * Top-level names that name this machine or a private network whatever DNS says (`.arpa` covers
 * `home.arpa`). Each is one label, so a name with a dot can only end with one.
 */
const LOCAL_SUFFIXES = ["localhost", "localdomain", "local", "internal", "intranet", "lan", "home", "corp", "private", "arpa"];

/** Why this address may not receive webhooks, or null when it may. */
export function addressProblem(host: string): string | null {
  if (ipaddr.IPv4.isValidFourPartDecimal(host)) {
    const range = ipaddr.IPv4.parse(host).range();
    return range === "unicast" ? null : `an IPv4 address in a special-purpose range (${range})`;
  }
  if (ipaddr.IPv6.isValid(host)) {
    const address = ipaddr.IPv6.parse(host);
    const range = address.range();
    if (range !== "unicast") return `an IPv6 address in a special-purpose range (${range})`;
    // Global unicast is 2000::/3; the rest (::/8 with IPv4-compatible forms, 100::/8, fec0::/10 …) is reserved.
    if (!address.match(ipaddr.IPv6.parse("2000::"), 3)) return "an IPv6 address outside global unicast (2000::/3)";
    return null;
  }
  return "not an IP address";
}

/**
 * Why this URL may not receive webhooks under the current rule, or null when it may.
 * `allowPrivate` (WEBHOOK_ALLOW_PRIVATE=true, local development) accepts any http or https URL.
 */
export function webhookTargetProblem(text: string, allowPrivate: boolean): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "not a URL";
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return "only http and https URLs";
  if (allowPrivate) return null;
  if (url.protocol !== "https:") return "webhook URLs must use https";
  if (url.username !== "" || url.password !== "") return "a URL with credentials";
  const host = url.hostname.toLowerCase();
  if (host.startsWith("[")) {
    const problem = addressProblem(host.slice(1, -1));
    return problem === null ? null : `a loopback, private or reserved address: ${problem}`;
  }
  // The WHATWG parser has already rewritten every numeric IPv4 form as dotted decimal.
  if (/^[0-9.]+$/.test(host)) {
    const problem = addressProblem(host.replace(/\.$/, ""));
    return problem === null ? null : `a loopback, private or reserved address: ${problem}`;
  }
  const name = host.replace(/\.+$/, "");
  if (!name.includes(".")) return "a single-label host name (resolved inside the local network)";
  if (LOCAL_SUFFIXES.some((suffix) => name.endsWith(`.${suffix}`))) return "a local host name";
  return null;
}
