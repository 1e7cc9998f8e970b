/**
 * Minimal DER encoder and TLV reader for the certificate shapes this module
 * issues and verifies. A general ASN.1 library costs more per certificate
 * than the signature itself; these few helpers keep issue/verify bound by
 * the crypto operations.
 *
 * Only single-byte tags and definite lengths of up to four bytes are
 * supported: DER certificates never need more.
 *
 * @module
 */
import { TokenError } from "./token_error.ts";

/** Universal tags used here. */
export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  T61_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

const encoder = new TextEncoder();

function lengthBytes(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  while (n > 0) {
    out.unshift(n & 0xff);
    n = Math.floor(n / 256);
  }
  return [0x80 | out.length, ...out];
}

/** Concatenates byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Encodes one TLV whose value is the concatenation of `parts`. */
export function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const len = lengthBytes(n);
  const out = new Uint8Array(1 + len.length + n);
  out[0] = tag;
  out.set(len, 1);
  let o = 1 + len.length;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** SEQUENCE of the given encodings. */
export function seq(...parts: Uint8Array[]): Uint8Array {
  return tlv(TAG.SEQUENCE, ...parts);
}

/** OBJECT IDENTIFIER from dotted text. */
export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split(".").map(Number);
  const body: number[] = [];
  const push = (v: number) => {
    const tmp = [v & 0x7f];
    v = Math.floor(v / 128);
    while (v > 0) {
      tmp.unshift(0x80 | (v & 0x7f));
      v = Math.floor(v / 128);
    }
    body.push(...tmp);
  };
  push(arcs[0] * 40 + arcs[1]);
  for (const a of arcs.slice(2)) push(a);
  return tlv(TAG.OID, new Uint8Array(body));
}

/** INTEGER from an unsigned big-endian magnitude (minimal DER form). */
export function uintBytes(magnitude: Uint8Array): Uint8Array {
  let i = 0;
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++;
  const m = magnitude.subarray(i);
  if (m.length === 0) return tlv(TAG.INTEGER, new Uint8Array([0]));
  return m[0] & 0x80
    ? tlv(TAG.INTEGER, new Uint8Array([0]), m)
    : tlv(TAG.INTEGER, m);
}

/** INTEGER from a small non-negative number. */
export function smallInt(n: number): Uint8Array {
  const bytes: number[] = [];
  do {
    bytes.unshift(n & 0xff);
    n >>= 8;
  } while (n > 0);
  return uintBytes(new Uint8Array(bytes));
}

/** A string with the given universal string tag, UTF-8 encoded. */
export function str(tag: number, text: string): Uint8Array {
  return tlv(tag, encoder.encode(text));
}

/** BIT STRING with `unused` trailing bits in the last byte. */
export function bitString(bytes: Uint8Array, unused = 0): Uint8Array {
  return tlv(TAG.BIT_STRING, new Uint8Array([unused]), bytes);
}

/** BIT STRING for a named-bit list: bit 0 is the MSB of the first byte. */
export function namedBits(bits: readonly number[]): Uint8Array {
  const max = Math.max(...bits);
  const bytes = new Uint8Array((max >> 3) + 1);
  for (const b of bits) bytes[b >> 3] |= 0x80 >> (b & 7);
  // DER drops trailing zero bits, so the unused count is the last bit's gap.
  return bitString(bytes, 7 - (max & 7));
}

/** OCTET STRING. */
export function octetString(bytes: Uint8Array): Uint8Array {
  return tlv(TAG.OCTET_STRING, bytes);
}

/** DER BOOLEAN TRUE. */
export const TRUE: Uint8Array = new Uint8Array([TAG.BOOLEAN, 1, 0xff]);

/** DER NULL. */
export const NULL: Uint8Array = new Uint8Array([TAG.NULL, 0]);

const pad2 = (n: number) => n < 10 ? `0${n}` : `${n}`;

/**
 * Time as RFC 5280 wants it: UTCTime for 1950–2049, GeneralizedTime
 * otherwise, always whole seconds in UTC.
 */
export function time(d: Date): Uint8Array {
  const y = d.getUTCFullYear();
  const rest = pad2(d.getUTCMonth() + 1) + pad2(d.getUTCDate()) +
    pad2(d.getUTCHours()) + pad2(d.getUTCMinutes()) +
    pad2(d.getUTCSeconds()) + "Z";
  if (y >= 1950 && y < 2050) {
    return str(TAG.UTC_TIME, pad2(y % 100) + rest);
  }
  return str(TAG.GENERALIZED_TIME, String(y).padStart(4, "0") + rest);
}

// ---------------------------------------------------------------- reading

/** One TLV in a buffer: `tag`, and the offsets of header, value and end. */
export interface Tlv {
  /** The tag byte. */
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first value byte. */
  value: number;
  /** Offset just past the value. */
  end: number;
}

function bad(what: string): never {
  throw new TokenError("malformed", `malformed DER: ${what}`);
}

/** Reads the TLV at `pos`, which must end at or before `limit`. */
export function readTlv(buf: Uint8Array, pos: number, limit: number): Tlv {
  if (pos + 2 > limit) bad("truncated header");
  const tag = buf[pos];
  if ((tag & 0x1f) === 0x1f) bad("multi-byte tag");
  let len = buf[pos + 1];
  let value = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) bad("indefinite length");
    if (n > 4) bad("length too large");
    if (value + n > limit) bad("truncated length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[value + i];
    if (len < 0x80 || (n > 1 && buf[value] === 0)) bad("non-minimal length");
    value += n;
  }
  const end = value + len;
  if (end > limit) bad("value runs past its container");
  return { tag, start: pos, value, end };
}

/** Reads a TLV and checks its tag. */
export function expect(
  buf: Uint8Array,
  pos: number,
  limit: number,
  tag: number,
  what: string,
): Tlv {
  const t = readTlv(buf, pos, limit);
  if (t.tag !== tag) {
    bad(`expected ${what} (tag 0x${hex2(tag)}), got tag 0x${hex2(t.tag)}`);
  }
  return t;
}

const hex2 = (n: number) => n.toString(16).padStart(2, "0");

/** The TLVs directly inside a constructed TLV. */
export function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  let p = parent.value;
  while (p < parent.end) {
    const t = readTlv(buf, p, parent.end);
    out.push(t);
    p = t.end;
  }
  return out;
}

/** The value bytes of a TLV (a view, not a copy). */
export function valueOf(buf: Uint8Array, t: Tlv): Uint8Array {
  return buf.subarray(t.value, t.end);
}

/** The whole encoding of a TLV (a view, not a copy). */
export function rawOf(buf: Uint8Array, t: Tlv): Uint8Array {
  return buf.subarray(t.start, t.end);
}

const oidCache = new Map<string, string>();

/** Decodes an OBJECT IDENTIFIER value to dotted text. */
export function readOid(buf: Uint8Array, t: Tlv): string {
  if (t.tag !== TAG.OID || t.end === t.value) bad("expected an OID");
  // Certificates repeat a handful of OIDs: memoise by their bytes.
  const key = latin1(buf, t.value, t.end);
  const known = oidCache.get(key);
  if (known !== undefined) return known;
  const arcs: number[] = [];
  let v = 0;
  for (let i = t.value; i < t.end; i++) {
    v = v * 128 + (buf[i] & 0x7f);
    if (!(buf[i] & 0x80)) {
      arcs.push(v);
      v = 0;
    } else if (v > Number.MAX_SAFE_INTEGER / 256) bad("OID arc too large");
  }
  if (buf[t.end - 1] & 0x80) bad("truncated OID");
  const first = arcs[0] < 80 ? Math.floor(arcs[0] / 40) : 2;
  arcs[0] -= first * 40;
  const dotted = [first, ...arcs].join(".");
  if (oidCache.size < 256) oidCache.set(key, dotted);
  return dotted;
}

function latin1(buf: Uint8Array, from: number, to: number): string {
  let s = "";
  for (let i = from; i < to; i++) s += String.fromCharCode(buf[i]);
  return s;
}

/** Decodes a DER INTEGER to its unsigned magnitude; rejects negatives. */
export function readUint(buf: Uint8Array, t: Tlv, what: string): Uint8Array {
  if (t.tag !== TAG.INTEGER || t.end === t.value) {
    bad(`${what}: not an INTEGER`);
  }
  if (buf[t.value] & 0x80) bad(`${what}: negative`);
  let i = t.value;
  if (buf[i] === 0 && i + 1 < t.end) {
    if (!(buf[i + 1] & 0x80)) bad(`${what}: non-minimal INTEGER`);
    i++;
  }
  return buf.subarray(i, t.end);
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Decodes a directory string (UTF8, Printable, IA5, T61, BMP). */
export function readString(buf: Uint8Array, t: Tlv): string {
  const v = valueOf(buf, t);
  switch (t.tag) {
    case TAG.UTF8_STRING:
    case TAG.PRINTABLE_STRING:
    case TAG.IA5_STRING:
      // ASCII is the common case and needs no decoder call.
      if (v.every((b) => b < 0x80)) return latin1(v, 0, v.length);
      try {
        return utf8.decode(v);
      } catch {
        bad("string is not valid UTF-8");
      }
      // falls through (unreachable: bad() throws)
    case TAG.T61_STRING:
      return latin1(v, 0, v.length);
    case TAG.BMP_STRING: {
      let s = "";
      for (let i = 0; i + 1 < v.length; i += 2) {
        s += String.fromCharCode((v[i] << 8) | v[i + 1]);
      }
      return s;
    }
    default:
      return "#" + rawOf(buf, t).toHex();
  }
}

/** Decodes UTCTime or GeneralizedTime in the RFC 5280 form (…Z, seconds). */
export function readTime(buf: Uint8Array, t: Tlv): Date {
  const len = t.end - t.value;
  const text = () => latin1(buf, t.value, t.end);
  let p = t.value;
  const digits = (n: number): number => {
    let v = 0;
    for (let k = 0; k < n; k++, p++) {
      const d = buf[p] - 0x30;
      if (d < 0 || d > 9) bad(`bad time "${text()}"`);
      v = v * 10 + d;
    }
    return v;
  };
  let year: number;
  if (t.tag === TAG.UTC_TIME && len === 13) {
    const yy = digits(2);
    year = yy < 50 ? 2000 + yy : 1900 + yy;
  } else if (t.tag === TAG.GENERALIZED_TIME && len === 15) {
    year = digits(4);
  } else {
    bad(`expected a UTCTime or GeneralizedTime ending in Z, got "${text()}"`);
  }
  const mo = digits(2), d = digits(2), h = digits(2), mi = digits(2);
  const se = digits(2);
  if (buf[p] !== 0x5a) bad(`time must end in Z: "${text()}"`);
  const back = new Date(Date.UTC(year, mo - 1, d, h, mi, se));
  // Date.UTC maps years 0–99 to 19xx; GeneralizedTime means them literally.
  if (year < 100) back.setUTCFullYear(year);
  if (
    mo < 1 || mo > 12 || back.getUTCDate() !== d || h > 23 || mi > 59 ||
    se > 59
  ) {
    bad(`time out of range "${text()}"`);
  }
  return back;
}

/** Byte-wise equality. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
