/**
 * Reading a certificate on the authentication path with the platform's
 * X.509 parser (`node:crypto`'s `X509Certificate`), not with our own DER
 * reader: the broker trusts what a maintained parser makes of a client's
 * bytes, and keeps the hand-written encoder for issuing only.
 *
 * @module
 */
import { X509Certificate } from "node:crypto";
import { type Attr, ATTR_NAMES } from "./_x509.ts";
import { pemToDer } from "./pem.ts";
import { TokenError } from "./token_error.ts";

/** A certificate as the platform parsed it, plus the facts tokens need. */
export interface ReadCertificate {
  /** The platform's parsed certificate (verify, checkIssued, publicKey). */
  x509: X509Certificate;
  /** Exactly the DER bytes that were parsed. */
  der: Uint8Array;
  /** Subject RDNs in DER order, each a list of attributes. */
  subject: Attr[][];
  /** Serial number, lowercase hex, whole bytes (as the issuer writes it). */
  serial: string;
  /** Start of validity. */
  notBefore: Date;
  /** End of validity. */
  notAfter: Date;
  /** SHA-256 of the DER, lowercase hex. */
  fingerprint: string;
}

/** Attribute OIDs by the short names the parser prints (any case). */
const OID_BY_NAME = new Map(
  Object.entries(ATTR_NAMES).map(([oid, name]) => [name.toLowerCase(), oid]),
);

/**
 * The RDNs of a name as the parser prints it: one RDN a line, most
 * significant first, several attributes of one RDN joined by ` + `, an
 * attribute without a short name as `OID(1.2.3)=value`. Token values never
 * contain a line break, ` + ` or `=` (the issuer and the DN checks allow
 * only `[A-Za-z0-9._@:-]`), so this reading is exact for every name that
 * can pass those checks; any other name fails them.
 */
export function parseNameText(text: string): Attr[][] {
  if (text === "") return [];
  return text.split("\n").map((line) =>
    line.split(" + ").map((part) => {
      const eq = part.indexOf("=");
      const name = eq < 0 ? part : part.slice(0, eq);
      const value = eq < 0 ? "" : part.slice(eq + 1);
      const dotted = /^OID\(([0-9.]+)\)$/.exec(name)?.[1];
      const oid = dotted ?? OID_BY_NAME.get(name.toLowerCase()) ?? name;
      return { oid, value };
    })
  );
}

/** One DER element: where its content starts and where it ends. */
interface Span {
  tag: number;
  start: number;
  end: number;
}

/**
 * The element at `at` in `der`, framed by its tag and definite length (at
 * most 4 length bytes); undefined when it does not fit. This frames
 * elements only; what they mean is the platform parser's business.
 */
function element(der: Uint8Array, at: number): Span | undefined {
  if (at + 2 > der.length) return undefined;
  const first = der[at + 1];
  let start = at + 2;
  let len = first;
  if (first >= 0x80) {
    const n = first & 0x7f;
    if (n === 0 || n > 4 || start + n > der.length) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i];
    start += n;
  }
  const end = start + len;
  return end <= der.length ? { tag: der[at], start, end } : undefined;
}

/** The three parts a certificate's signature covers and consists of. */
export interface SignedParts {
  /** The whole `tbsCertificate` element: the signed bytes. */
  tbs: Uint8Array;
  /** The whole outer `signatureAlgorithm` element. */
  algorithm: Uint8Array;
  /** The signature bits (the BIT STRING without its unused-bits byte). */
  signature: Uint8Array;
}

/**
 * Splits a certificate the platform parser has accepted into the parts
 * its signature check needs, so the check can run on Web Crypto (about
 * twice as fast here as `X509Certificate.verify`). The split follows the
 * same DER lengths the parser read, so both see the same signed bytes.
 */
export function signedParts(der: Uint8Array): SignedParts | undefined {
  const outer = element(der, 0);
  if (!outer || outer.tag !== 0x30) return undefined;
  const tbs = element(der, outer.start);
  if (!tbs || tbs.tag !== 0x30) return undefined;
  const alg = element(der, tbs.end);
  if (!alg || alg.tag !== 0x30) return undefined;
  const sig = element(der, alg.end);
  if (!sig || sig.tag !== 0x03 || sig.end !== outer.end) return undefined;
  if (sig.end - sig.start < 2 || der[sig.start] !== 0) return undefined;
  return {
    tbs: der.subarray(outer.start, tbs.end),
    algorithm: der.subarray(tbs.end, alg.end),
    signature: der.subarray(sig.start + 1, sig.end),
  };
}

function malformed(why: string): never {
  throw new TokenError("malformed", `not a readable X.509 certificate: ${why}`);
}

/**
 * Parses a certificate (DER bytes or PEM text) with `node:crypto`.
 *
 * @throws {TokenError} `malformed` for bytes that are not exactly one
 * X.509 certificate (trailing bytes included).
 *
 * @example
 * ```ts
 * import { createCa } from "./create_ca.ts";
 * import { readCertificate } from "./read_certificate.ts";
 * const ca = await createCa();
 * const c = readCertificate(ca.certPem);
 * c.x509.ca; // true
 * ```
 */
export function readCertificate(cert: Uint8Array | string): ReadCertificate {
  const der = typeof cert === "string" ? pemToDer(cert) : cert;
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(der);
  } catch (e) {
    malformed((e as Error).message);
  }
  // The parser ignores bytes after the certificate; they would make the
  // cache key and the fingerprint speak of something else.
  const outer = element(der, 0);
  if (!outer || outer.end !== der.length) {
    malformed("bytes after the certificate");
  }
  let serial = x509.serialNumber.toLowerCase();
  if (serial.length % 2) serial = "0" + serial;
  return {
    x509,
    der,
    subject: parseNameText(x509.subject),
    serial,
    notBefore: x509.validFromDate,
    notAfter: x509.validToDate,
    fingerprint: x509.fingerprint256.replaceAll(":", "").toLowerCase(),
  };
}
