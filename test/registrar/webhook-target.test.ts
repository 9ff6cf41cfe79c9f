// The webhook target rule: every loopback, private, link-local, reserved or transition form of an
// address is refused, whatever way it is written; public https targets pass.
import { describe, expect, it } from "vitest";
import { webhookTargetProblem } from "../../registrar/webhook-target";

const refused = [
  "https://localhost/", "https://localhost./", "https://LOCALHOST../x", "https://localhost.localdomain/", "https://api.localhost/",
  "https://printer.local/", "https://db.internal/", "https://router.home.arpa/", "https://intranet/",
  // IPv4 in every spelling the URL parser accepts
  "https://127.0.0.1/", "https://127.1/", "https://2130706433/", "https://0x7f000001/", "https://0177.0.0.1/", "https://0x7f.1/", "https://127.0.0.1./",
  "https://0.0.0.0/", "https://0.1.2.3/", "https://10.1.2.3/", "https://100.64.0.1/", "https://100.127.255.254/", "https://169.254.169.254/",
  "https://172.16.0.1/", "https://172.31.255.255/", "https://192.168.1.1/", "https://192.0.0.8/", "https://192.0.2.1/", "https://198.18.0.1/",
  "https://224.0.0.1/", "https://239.255.255.250/", "https://240.0.0.1/", "https://255.255.255.255/",
  // IPv6, including every form that embeds an IPv4 address
  "https://[::1]/", "https://[::]/", "https://[0:0:0:0:0:0:0:1]/", "https://[::7f00:1]/", "https://[::127.0.0.1]/", "https://[::ffff:127.0.0.1]/",
  "https://[::ffff:7f00:1]/", "https://[::ffff:a9fe:a9fe]/", "https://[64:ff9b::a9fe:a9fe]/", "https://[64:ff9b:1::1]/", "https://[2002:7f00:1::]/",
  "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "https://[fec0::1]/", "https://[fc00::1]/", "https://[fd12:3456::1]/", "https://[fe80::1]/",
  "https://[febf::1]/", "https://[ff02::1]/", "https://[ff0e::1]/", "https://[2001:db8::1]/", "https://[100::1]/", "https://[5f00::1]/",
  // not https, credentials, not a URL
  "http://hooks.example.net/", "ftp://hooks.example.net/", "https://user:pw@hooks.example.net/", "not a url",
];

const allowed = ["https://hooks.example.net/whistle", "https://hooks.example.net.:8443/x", "https://8.8.8.8/", "https://172.32.0.1/", "https://100.128.0.1/", "https://[2606:4700:4700::1111]/", "https://unreachable.invalid/hook"];

describe("webhook targets", () => {
  it("refuse every private, local, reserved and transition form in production", () => {
    for (const url of refused) expect(webhookTargetProblem(url, false), url).not.toBeNull();
  });

  it("accept public https targets", () => {
    for (const url of allowed) expect(webhookTargetProblem(url, false), url).toBeNull();
  });

  it("the local-development allowance accepts any http(s) target, nothing else", () => {
    expect(webhookTargetProblem("http://127.0.0.1:9999/hook", true)).toBeNull();
    expect(webhookTargetProblem("https://[::1]/", true)).toBeNull();
    expect(webhookTargetProblem("ftp://127.0.0.1/", true)).not.toBeNull();
    expect(webhookTargetProblem("javascript:alert(1)", true)).not.toBeNull();
  });
});

describe("the reason an operator is given (the 422 problem's url field)", () => {
  it("names what is wrong with the target", () => {
    const range = (family: string, name: string) => `a loopback, private or reserved address: an ${family} address in a special-purpose range (${name})`;
    for (const [url, reason] of [
      ["not a url", "not a URL"],
      ["https://256.1.1.1/", "not a URL"],
      ["ftp://hooks.example.net/", "only http and https URLs"],
      ["http://hooks.example.net/", "webhook URLs must use https"],
      ["https://user:pw@hooks.example.net/", "a URL with credentials"],
      ["https://user@hooks.example.net/", "a URL with credentials"],
      ["https://:pw@hooks.example.net/", "a URL with credentials"],
      ["https://127.0.0.1/", range("IPv4", "loopback")],
      ["https://127.0.0.1./", range("IPv4", "loopback")],
      ["https://0x0a000001/", range("IPv4", "private")],
      ["https://[::1]/", range("IPv6", "loopback")],
      ["https://[::FFFF:127.0.0.1]/", range("IPv6", "ipv4Mapped")],
      ["https://[fe80::1]/", range("IPv6", "linkLocal")],
      ["https://[4000::1]/", "a loopback, private or reserved address: an IPv6 address outside global unicast (2000::/3)"],
      ["https://[1fff:ffff::1]/", "a loopback, private or reserved address: an IPv6 address outside global unicast (2000::/3)"],
      ["https://localhost/", "a single-label host name (resolved inside the local network)"],
      ["https://hooks../", "a single-label host name (resolved inside the local network)"],
      ["https://api.localhost/", "a local host name"],
      ["https://printer.LOCAL./", "a local host name"],
      ["https://home.arpa/", "a local host name"],
      ["https://router.home.arpa/", "a local host name"],
      ...["localhost", "localdomain", "local", "internal", "intranet", "lan", "home", "corp", "private", "arpa"].map((suffix) => [`https://hooks.example.${suffix}/`, "a local host name"]),
    ]) {
      expect(webhookTargetProblem(url!, false), url).toBe(reason);
    }
  });

  it("a public name that merely contains a local word is allowed", () => {
    for (const url of ["https://local.example.net/", "https://mylocal.example/", "https://notlocalhost.com/", "https://hooks.example.internal.example.com/", "https://[2000::1]/", "https://[2a03:2880::1]/"]) {
      expect(webhookTargetProblem(url, false), url).toBeNull();
    }
  });

  it("a public name that starts with a digit is a name, not an address", () => {
    for (const url of ["https://1password.example/", "https://4chan.example.net/hook", "https://123.example/", "https://1.2.3.example/", "https://9to5.example./x"]) {
      expect(webhookTargetProblem(url, false), url).toBeNull();
    }
  });
});
