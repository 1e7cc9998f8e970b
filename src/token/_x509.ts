/**
 * X.509 v3 certificate parsing and assembly on top of `_der.ts`: just the
 * fields the token layer needs, read strictly enough that what we check is
 * what was signed.
 *
 * @module
 */
import {
  bitString,
  children,
  expect,
  octetString,
  oid,
  readOid,
  readString,
  readTime,
  readTlv,
  readUint,
  seq,
  smallInt,
  TAG,
  time,
  type Tlv,
  tlv,
  TRUE,
  uintBytes,
  valueOf,
} from "./_der.ts";
import { TokenError } from "./token_error.ts";

/** OIDs by dotted value. */
export const OID = {
  ecPublicKey: "1.2.840.10045.2.1",
  prime256v1: "1.2.840.10045.3.1.7",
  rsaEncryption: "1.2.840.113549.1.1.1",
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  sha256WithRsa: "1.2.840.113549.1.1.11",
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  subjectAltName: "2.5.29.17",
  subjectKeyId: "2.5.29.14",
  authorityKeyId: "2.5.29.35",
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
  cn: "2.5.4.3",
  ou: "2.5.4.11",
  o: "2.5.4.10",
  serialNumber: "2.5.4.5",
  title: "2.5.4.12",
  uid: "0.9.2342.19200300.100.1.1",
} as const;

/** Short names for DN text (openssl's, which node:tls also uses). */
export const ATTR_NAMES: Readonly<Record<string, string>> = {
  [OID.cn]: "CN",
  [OID.ou]: "OU",
  [OID.o]: "O",
  [OID.serialNumber]: "serialNumber",
  [OID.title]: "title",
  [OID.uid]: "UID",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "0.9.2342.19200300.100.1.25": "DC",
  "1.2.840.113549.1.9.1": "emailAddress",
};

/** One attribute of a DN. */
export interface Attr {
  /** Attribute type OID. */
  oid: string;
  /** Decoded value. */
  value: string;
}

/** A parsed Name: RDNs in DER order (most significant first). */
export interface ParsedName {
  /** The raw DER of the Name. */
  der: Uint8Array;
  /** RDNs in DER order; each has one or (rarely) several attributes. */
  rdns: Attr[][];
}

/** Extensions we understand, plus the OIDs of unknown critical ones. */
export interface ParsedExtensions {
  /** basicConstraints, if present. */
  basicConstraints?: { ca: boolean; pathLen?: number };
  /** keyUsage bits as a number: bit 0 (digitalSignature) is 1 << 0. */
  keyUsage?: number;
  /** extendedKeyUsage OIDs. */
  extKeyUsage?: string[];
  /** subjectAltName entries as `DNS:name` / `IP:addr`. */
  subjectAltName?: string[];
  /** subjectKeyIdentifier bytes. */
  subjectKeyId?: Uint8Array;
  /** Critical extensions we do not know (RFC 5280 says: reject). */
  unknownCritical: string[];
}

/** The fields of a certificate the token layer uses. */
export interface ParsedCertificate {
  /** The whole DER. */
  der: Uint8Array;
  /** The signed bytes (tbsCertificate TLV). */
  tbs: Uint8Array;
  /** Signature algorithm OID (outer; checked equal to the inner one). */
  sigAlg: string;
  /** Signature bytes (BIT STRING content without the unused-bits byte). */
  signature: Uint8Array;
  /** X.509 version number (3 for v3). */
  version: number;
  /** Serial number magnitude, big-endian. */
  serial: Uint8Array;
  /** Issuer name. */
  issuer: ParsedName;
  /** Subject name. */
  subject: ParsedName;
  /** Start of validity. */
  notBefore: Date;
  /** End of validity. */
  notAfter: Date;
  /** The raw SubjectPublicKeyInfo TLV. */
  spki: Uint8Array;
  /** SPKI algorithm OID. */
  keyAlg: string;
  /** Named curve OID for EC keys. */
  keyCurve?: string;
  /** The subjectPublicKey BIT STRING content (without unused-bits byte). */
  publicKey: Uint8Array;
  /** Extensions. */
  ext: ParsedExtensions;
}

function bad(what: string): never {
  throw new TokenError("malformed", `not an X.509 certificate: ${what}`);
}

/** Parses a Name TLV. */
export function parseName(buf: Uint8Array, t: Tlv): ParsedName {
  if (t.tag !== TAG.SEQUENCE) bad("Name is not a SEQUENCE");
  const rdns: Attr[][] = [];
  for (const set of children(buf, t)) {
    if (set.tag !== TAG.SET) bad("RDN is not a SET");
    const rdn: Attr[] = [];
    for (const atv of children(buf, set)) {
      if (atv.tag !== TAG.SEQUENCE) bad("attribute is not a SEQUENCE");
      const [type, value, extra] = children(buf, atv);
      if (!type || !value || extra) bad("attribute is not {type, value}");
      rdn.push({ oid: readOid(buf, type), value: readString(buf, value) });
    }
    if (rdn.length === 0) bad("empty RDN");
    rdns.push(rdn);
  }
  return { der: buf.subarray(t.start, t.end), rdns };
}

function escapeDnValue(v: string): string {
  let s = v.replace(/[\\,+"<>;=]/g, (c) => "\\" + c);
  if (s.startsWith("#") || s.startsWith(" ")) s = "\\" + s;
  if (s.endsWith(" ")) s = s.slice(0, -1) + "\\ ";
  return s;
}

/**
 * RFC 4514-style text, least significant RDN first
 * (`CN=alice, OU=USER, O=splitpilot`), with ", " between RDNs.
 */
export function formatName(name: { rdns: readonly Attr[][] }): string {
  return name.rdns.slice().reverse().map((rdn) =>
    rdn.map((a) => `${ATTR_NAMES[a.oid] ?? a.oid}=${escapeDnValue(a.value)}`)
      .join("+")
  ).join(", ");
}

function parseAlgId(buf: Uint8Array, t: Tlv): string {
  if (t.tag !== TAG.SEQUENCE) bad("AlgorithmIdentifier is not a SEQUENCE");
  const [o] = children(buf, t);
  if (!o) bad("empty AlgorithmIdentifier");
  return readOid(buf, o);
}

function parseBitStringContent(buf: Uint8Array, t: Tlv): Uint8Array {
  if (t.tag !== TAG.BIT_STRING || t.end === t.value) bad("expected BIT STRING");
  return buf.subarray(t.value + 1, t.end);
}

function formatIp(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join(".");
  const groups: string[] = [];
  for (let i = 0; i + 1 < b.length; i += 2) {
    groups.push(((b[i] << 8) | b[i + 1]).toString(16));
  }
  return groups.join(":");
}

function parseExtensions(buf: Uint8Array, t: Tlv): ParsedExtensions {
  const ext: ParsedExtensions = { unknownCritical: [] };
  const seen = new Set<string>();
  const list = expect(buf, t.value, t.end, TAG.SEQUENCE, "Extensions");
  for (const e of children(buf, list)) {
    if (e.tag !== TAG.SEQUENCE) bad("Extension is not a SEQUENCE");
    const parts = children(buf, e);
    const id = readOid(buf, parts[0] ?? bad("empty Extension"));
    if (seen.has(id)) bad(`extension ${id} appears twice`);
    seen.add(id);
    let critical = false;
    let i = 1;
    if (parts[i]?.tag === TAG.BOOLEAN) {
      critical = buf[parts[i].value] !== 0;
      i++;
    }
    const os = parts[i];
    if (!os || os.tag !== TAG.OCTET_STRING || parts[i + 1]) {
      bad(`extension ${id} has no value`);
    }
    const inner = readTlv(buf, os.value, os.end);
    if (inner.end !== os.end) bad(`extension ${id} has trailing bytes`);
    switch (id) {
      case OID.basicConstraints: {
        const [a, b] = children(buf, inner);
        let ca = false;
        let pathLen: number | undefined;
        if (a?.tag === TAG.BOOLEAN) ca = buf[a.value] !== 0;
        const pl = a?.tag === TAG.INTEGER ? a : b;
        if (pl?.tag === TAG.INTEGER) {
          pathLen = Number(
            BigInt("0x" + (readUint(buf, pl, "pathLen").toHex() || "0")),
          );
        }
        ext.basicConstraints = { ca, pathLen };
        break;
      }
      case OID.keyUsage: {
        const bits = parseBitStringContent(buf, inner);
        let n = 0;
        for (let k = 0; k < bits.length * 8 && k < 16; k++) {
          if (bits[k >> 3] & (0x80 >> (k & 7))) n |= 1 << k;
        }
        ext.keyUsage = n;
        break;
      }
      case OID.extKeyUsage:
        ext.extKeyUsage = children(buf, inner).map((o) => readOid(buf, o));
        break;
      case OID.subjectAltName:
        ext.subjectAltName = children(buf, inner).map((g) => {
          const v = valueOf(buf, g);
          if (g.tag === 0x82) return `DNS:${String.fromCharCode(...v)}`;
          if (g.tag === 0x87) return `IP:${formatIp(v)}`;
          return `tag${g.tag & 0x1f}:${v.toHex()}`;
        });
        break;
      case OID.subjectKeyId:
        if (inner.tag !== TAG.OCTET_STRING) bad("bad subjectKeyIdentifier");
        ext.subjectKeyId = valueOf(buf, inner);
        break;
      default:
        if (critical) ext.unknownCritical.push(id);
    }
  }
  return ext;
}

/** Parses a DER certificate; throws `TokenError("malformed")`. */
export function parseCertificate(der: Uint8Array): ParsedCertificate {
  const cert = readTlv(der, 0, der.length);
  if (cert.tag !== TAG.SEQUENCE) bad("not a SEQUENCE");
  if (cert.end !== der.length) bad("trailing bytes after the certificate");
  const [tbsT, algT, sigT, extra] = children(der, cert);
  if (!sigT || extra) bad("expected {tbsCertificate, algorithm, signature}");
  if (tbsT.tag !== TAG.SEQUENCE) bad("tbsCertificate is not a SEQUENCE");
  const sigAlg = parseAlgId(der, algT);
  const signature = parseBitStringContent(der, sigT);
  if (der[sigT.value] !== 0) bad("signature has unused bits");

  const f = children(der, tbsT);
  let i = 0;
  let version = 1;
  if (f[0]?.tag === 0xa0) {
    const v = expect(der, f[0].value, f[0].end, TAG.INTEGER, "version");
    version = der[v.value] + 1;
    i = 1;
  }
  const [serialT, innerAlgT, issuerT, validityT, subjectT, spkiT] = f.slice(
    i,
    i + 6,
  );
  if (!spkiT) bad("tbsCertificate is missing fields");
  const serial = readUint(der, serialT, "serialNumber");
  if (parseAlgId(der, innerAlgT) !== sigAlg) {
    bad("inner and outer signature algorithms differ");
  }
  if (validityT.tag !== TAG.SEQUENCE) bad("Validity is not a SEQUENCE");
  const [nbT, naT] = children(der, validityT);
  if (!naT) bad("Validity needs notBefore and notAfter");
  if (spkiT.tag !== TAG.SEQUENCE) bad("SPKI is not a SEQUENCE");
  const [kAlgT, kBitsT] = children(der, spkiT);
  if (!kBitsT || kAlgT.tag !== TAG.SEQUENCE) bad("bad SubjectPublicKeyInfo");
  const [kOid, kParam] = children(der, kAlgT);
  const keyAlg = readOid(der, kOid ?? bad("empty SPKI algorithm"));
  const keyCurve = kParam?.tag === TAG.OID ? readOid(der, kParam) : undefined;

  let ext: ParsedExtensions | undefined;
  for (const t of f.slice(i + 6)) {
    if (t.tag === 0xa3 && !ext) ext = parseExtensions(der, t);
    else if (t.tag !== 0x81 && t.tag !== 0x82) bad("unexpected TBS field");
  }
  return {
    der,
    tbs: der.subarray(tbsT.start, tbsT.end),
    sigAlg,
    signature,
    version,
    serial,
    issuer: parseName(der, issuerT),
    subject: parseName(der, subjectT),
    notBefore: readTime(der, nbT),
    notAfter: readTime(der, naT),
    spki: der.subarray(spkiT.start, spkiT.end),
    keyAlg,
    keyCurve,
    publicKey: parseBitStringContent(der, kBitsT),
    ext: ext ?? { unknownCritical: [] },
  };
}

/** What goes into a tbsCertificate we build. */
export interface TbsSpec {
  /** Serial number magnitude. */
  serial: Uint8Array;
  /** Signature AlgorithmIdentifier DER. */
  sigAlg: Uint8Array;
  /** Issuer Name DER. */
  issuer: Uint8Array;
  /** Subject Name DER. */
  subject: Uint8Array;
  /** Start of validity (whole seconds). */
  notBefore: Date;
  /** End of validity (whole seconds). */
  notAfter: Date;
  /** SubjectPublicKeyInfo DER. */
  spki: Uint8Array;
  /** Extension DERs, in order. */
  extensions: Uint8Array[];
}

const V3 = tlv(0xa0, smallInt(2));

/** Encodes a v3 tbsCertificate. */
export function encodeTbs(s: TbsSpec): Uint8Array {
  return seq(
    V3,
    uintBytes(s.serial),
    s.sigAlg,
    s.issuer,
    seq(time(s.notBefore), time(s.notAfter)),
    s.subject,
    s.spki,
    tlv(0xa3, seq(...s.extensions)),
  );
}

/** Wraps a tbsCertificate and its signature into a Certificate. */
export function encodeCertificate(
  tbs: Uint8Array,
  sigAlg: Uint8Array,
  signature: Uint8Array,
): Uint8Array {
  return seq(tbs, sigAlg, bitString(signature));
}

/** Encodes one Extension. */
export function extension(
  id: string,
  critical: boolean,
  value: Uint8Array,
): Uint8Array {
  return critical
    ? seq(oid(id), TRUE, octetString(value))
    : seq(oid(id), octetString(value));
}
