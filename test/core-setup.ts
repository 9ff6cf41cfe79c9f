// Setup of the `core` vitest project (vitest.core.config.ts): the registrar's unit tests in plain
// Node, made to offer what workerd offers and Node 20/22 lack, each from Node's own implementation:
// - `crypto.subtle.digest("MD5", ...)` (a Cloudflare extension SIP digest needs): node:crypto's MD5;
// - `crypto.subtle.timingSafeEqual` (workerd's Web Crypto extension): node:crypto's timingSafeEqual;
// - `Uint8Array.prototype.toHex`, `.toBase64` and `Uint8Array.fromBase64` (ECMAScript 2026, in
//   workerd's V8, not in Node 22's): Node's Buffer, for the hex and base64url the edge uses.
// Every other algorithm is Node's Web Crypto unchanged. `npm test` runs these tests in workerd too,
// against the runtime's own methods.
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

// Only what the edge asks for (base64url, never padded when written); anything else is refused
// rather than answered differently from workerd.
const bufferOf = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const onlyBase64url = (alphabet: string | undefined) => {
  if (alphabet !== "base64url") throw new TypeError("test/core-setup.ts supplies only the base64url alphabet");
};

if (typeof Uint8Array.prototype.toHex !== "function") {
  Object.defineProperty(Uint8Array.prototype, "toHex", {
    configurable: true,
    writable: true,
    value(this: Uint8Array): string {
      return bufferOf(this).toString("hex");
    },
  });
}

if (typeof Uint8Array.prototype.toBase64 !== "function") {
  Object.defineProperty(Uint8Array.prototype, "toBase64", {
    configurable: true,
    writable: true,
    value(this: Uint8Array, options: { alphabet?: string; omitPadding?: boolean } = {}): string {
      onlyBase64url(options.alphabet);
      if (!options.omitPadding) throw new TypeError("test/core-setup.ts supplies only base64url without padding");
      return bufferOf(this).toString("base64url");
    },
  });
}

if (typeof Uint8Array.fromBase64 !== "function") {
  Object.defineProperty(Uint8Array, "fromBase64", {
    configurable: true,
    writable: true,
    value(text: string, options: { alphabet?: string } = {}): Uint8Array {
      onlyBase64url(options.alphabet);
      // The standard's refusals, which Buffer (skipping what it does not know) lacks: a character
      // outside the alphabet (ASCII whitespace and final padding aside), or a lone final character.
      const bare = text.replace(/[\t\n\f\r ]/g, "");
      if (!/^[A-Za-z0-9_-]*={0,2}$/.test(bare) || bare.replace(/=+$/, "").length % 4 === 1) throw new SyntaxError("not base64url");
      return new Uint8Array(Buffer.from(bare, "base64url"));
    },
  });
}
