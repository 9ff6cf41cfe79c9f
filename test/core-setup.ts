// Setup of the `core` vitest project (vitest.core.config.ts): the registrar's unit tests in plain
// Node. workerd's Web Crypto computes MD5 digests (a Cloudflare extension SIP digest needs); Node's
// does not, so here `crypto.subtle.digest("MD5", ...)` is answered by Node's own MD5 (node:crypto).
// Likewise workerd's `crypto.subtle.timingSafeEqual` (the nonce check uses it) is Node's
// `timingSafeEqual`. Every other algorithm is Node's Web Crypto unchanged. `npm test` runs these
// tests in workerd too.
import { createHash, timingSafeEqual } from "node:crypto";

const subtle = crypto.subtle;
const webCryptoDigest = subtle.digest.bind(subtle);

function bytesOf(data: BufferSource): Uint8Array {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

Object.defineProperty(subtle, "digest", {
  configurable: true,
  value(algorithm: string | { name: string }, data: BufferSource): Promise<ArrayBuffer> {
    const name = typeof algorithm === "string" ? algorithm : algorithm.name;
    if (name.toUpperCase() !== "MD5") return webCryptoDigest(algorithm, data);
    const md5 = createHash("md5").update(bytesOf(data)).digest();
    return Promise.resolve(md5.buffer.slice(md5.byteOffset, md5.byteOffset + md5.byteLength) as ArrayBuffer);
  },
});

Object.defineProperty(subtle, "timingSafeEqual", {
  configurable: true,
  value(a: BufferSource, b: BufferSource): boolean {
    const x = bytesOf(a);
    const y = bytesOf(b);
    if (x.byteLength !== y.byteLength) throw new TypeError("timingSafeEqual: the inputs differ in length");
    return timingSafeEqual(x, y);
  },
});
