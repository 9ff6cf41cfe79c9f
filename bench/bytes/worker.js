// The variants `npm run bench:bytes` compares, run inside workerd: the runtime's own Uint8Array
// base16/base64 methods and crypto.subtle.timingSafeEqual against the hand-written loops the edge
// used before. GET /?case=NAME&n=ITERATIONS runs one case n times over fixed inputs and answers a
// checksum (so no loop is optimised away). workerd's clock does not move during computation, so the
// caller times the request from outside.

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
const encoder = new TextEncoder();

function handHex(view) {
  let out = "";
  for (let i = 0; i < view.length; i++) out += HEX[view[i]];
  return out;
}
function handBase64url(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}
function handFromBase64url(text) {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  let binary;
  try {
    binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  } catch {
    return null;
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return handBase64url(bytes) === text ? bytes : null;
}
function nativeFromBase64url(text) {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return null;
  let bytes;
  try {
    bytes = Uint8Array.fromBase64(text, { alphabet: "base64url" });
  } catch {
    return null;
  }
  return bytes.toBase64({ alphabet: "base64url", omitPadding: true }) === text ? bytes : null;
}
function handEqualText(a, b) {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}
function nativeEqualText(a, b) {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  return x.byteLength === y.byteLength && crypto.subtle.timingSafeEqual(x, y);
}

// Inputs of the sizes the edge handles: an MD5 and a SHA-256 digest, a 32-byte Kamailio nonce, a
// 32-hex-digit digest response.
const md5 = Uint8Array.from({ length: 16 }, (_, i) => (i * 37 + 11) & 255);
const sha256 = Uint8Array.from({ length: 32 }, (_, i) => (i * 53 + 7) & 255);
const nonce = Uint8Array.from({ length: 32 }, (_, i) => (i * 91 + 3) & 255);
const nonceText = handBase64url(nonce);
const response = handHex(md5);
const responseCopy = handHex(md5.slice());

const mac = nonce.slice(16);
const macCopy = mac.slice();
function handEqualBytes(a, b) {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i] ^ b[i];
  return difference === 0;
}

// Each case reads the last character of a text it builds, so the text is flattened as the edge's
// later use of it (hashing, comparing, sending) would.
const last = (text) => text.charCodeAt(text.length - 1);
const cases = {
  noop: () => 1,
  "hex/hand md5": () => last(handHex(md5)),
  "hex/native md5": () => last(md5.toHex()),
  "hex/hand sha256": () => last(handHex(sha256)),
  "hex/native sha256": () => last(sha256.toHex()),
  "base64url/hand encode": () => last(handBase64url(nonce)),
  "base64url/native encode": () => last(nonce.toBase64({ alphabet: "base64url", omitPadding: true })),
  "base64url/hand decode": () => handFromBase64url(nonceText).length,
  "base64url/native decode": () => nativeFromBase64url(nonceText).length,
  "equal/hand text": () => (handEqualText(response, responseCopy) ? 1 : 0),
  "equal/native text": () => (nativeEqualText(response, responseCopy) ? 1 : 0),
  "equal/hand bytes": () => (handEqualBytes(mac, macCopy) ? 1 : 0),
  "equal/native bytes": () => (mac.length === macCopy.length && crypto.subtle.timingSafeEqual(mac, macCopy) ? 1 : 0),
};

export default {
  fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/cases") return Response.json(Object.keys(cases));
    const run = cases[url.searchParams.get("case")];
    const n = Number(url.searchParams.get("n"));
    if (!run || !(n > 0)) return new Response("unknown case or n", { status: 400 });
    // Same answers from both variants, or the comparison means nothing.
    if (handHex(sha256) !== sha256.toHex() || handFromBase64url(nonceText).toHex() !== nativeFromBase64url(nonceText).toHex()) {
      return new Response("variants disagree", { status: 500 });
    }
    let sum = 0;
    for (let i = 0; i < n; i++) sum += run();
    return Response.json({ sum });
  },
};
