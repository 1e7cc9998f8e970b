/**
 * Key pairs, CA signing and signature verification with Web Crypto, plus
 * the conversions between Web Crypto's formats and X.509's.
 *
 * @module
 */
import {
  bitString,
  children,
  expect,
  NULL,
  oid,
  readOid,
  readTlv,
  seq,
  TAG,
  tlv,
  uintBytes,
  valueOf,
} from "./_der.ts";
import { createHash } from "node:crypto";
import { OID, type ParsedCertificate } from "./_x509.ts";
import type { KeyAlgorithm } from "./role.ts";
import { TokenError } from "./token_error.ts";

/** Web Crypto's typings want ArrayBuffer-backed views; ours always are. */
function ab(b: Uint8Array): Uint8Array<ArrayBuffer> {
  return b as Uint8Array<ArrayBuffer>;
}

/** All key algorithms, in the order shown in help texts. */
export const KEY_ALGORITHMS: readonly KeyAlgorithm[] = [
  "ecdsa-p256",
  "rsa-2048",
  "rsa-3072",
];

const EC_PARAMS = { name: "ECDSA", namedCurve: "P-256" } as const;
const EC_SIGN = { name: "ECDSA", hash: "SHA-256" } as const;
const RSA_PARAMS = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } as const;
const F4 = new Uint8Array([1, 0, 1]);

/** AlgorithmIdentifier DERs of the two signature algorithms we use. */
export const SIG_ALG = {
  ec: seq(oid(OID.ecdsaWithSha256)),
  rsa: seq(oid(OID.sha256WithRsa), NULL),
} as const;

const EC_SPKI_PREFIX = seq(oid(OID.ecPublicKey), oid(OID.prime256v1));

/** Checks a key algorithm name. */
export function checkKeyAlgorithm(a: unknown, what: string): KeyAlgorithm {
  if (KEY_ALGORITHMS.includes(a as KeyAlgorithm)) return a as KeyAlgorithm;
  throw new TokenError(
    "invalid_input",
    `${what}: unknown key algorithm "${a}" (expected one of ${
      KEY_ALGORITHMS.join(", ")
    })`,
  );
}

/** A fresh key pair in the forms a certificate and a PEM file need. */
export interface GeneratedKey {
  /** The key pair. */
  keys: CryptoKeyPair;
  /** Private key, PKCS#8 DER. */
  pkcs8: Uint8Array;
  /** SubjectPublicKeyInfo DER. */
  spki: Uint8Array;
  /** The subjectPublicKey bits (for the key identifier). */
  publicKey: Uint8Array;
  /** Whether the key is RSA (adds keyEncipherment to key usage). */
  rsa: boolean;
}

/**
 * The EC point inside a PKCS#8 ECPrivateKey (its optional `[1] publicKey`).
 * Exporting PKCS#8 is several times faster in Deno than exporting SPKI, and
 * the point is all an SPKI needs.
 */
function ecPointFromPkcs8(p8: Uint8Array): Uint8Array | undefined {
  try {
    const top = readTlv(p8, 0, p8.length);
    const [, , os] = children(p8, top);
    const ecpk = expect(p8, os.value, os.end, TAG.SEQUENCE, "ECPrivateKey");
    for (const c of children(p8, ecpk)) {
      if (c.tag === 0xa1) {
        const bits = expect(p8, c.value, c.end, TAG.BIT_STRING, "publicKey");
        const pt = p8.subarray(bits.value + 1, bits.end);
        if (pt.length === 65 && pt[0] === 4) return pt;
      }
    }
  } catch {
    // Fall back to exporting the SPKI.
  }
  return undefined;
}

/** Generates a key pair of the given algorithm. */
export async function generateKey(alg: KeyAlgorithm): Promise<GeneratedKey> {
  if (alg === "ecdsa-p256") {
    const keys = await crypto.subtle.generateKey(EC_PARAMS, true, [
      "sign",
      "verify",
    ]);
    const pkcs8 = new Uint8Array(
      await crypto.subtle.exportKey("pkcs8", keys.privateKey),
    );
    let point = ecPointFromPkcs8(pkcs8);
    if (!point) {
      point = new Uint8Array(
        await crypto.subtle.exportKey("raw", keys.publicKey),
      );
    }
    const spki = seq(EC_SPKI_PREFIX, bitString(point));
    return { keys, pkcs8, spki, publicKey: point, rsa: false };
  }
  const keys = await crypto.subtle.generateKey(
    {
      ...RSA_PARAMS,
      modulusLength: alg === "rsa-2048" ? 2048 : 3072,
      publicExponent: F4,
    },
    true,
    ["sign", "verify"],
  );
  const [pkcs8, spki] = await Promise.all([
    crypto.subtle.exportKey("pkcs8", keys.privateKey),
    crypto.subtle.exportKey("spki", keys.publicKey),
  ]);
  const s = new Uint8Array(spki);
  const top = readTlv(s, 0, s.length);
  const [, bits] = children(s, top);
  return {
    keys,
    pkcs8: new Uint8Array(pkcs8),
    spki: s,
    publicKey: s.subarray(bits.value + 1, bits.end),
    rsa: true,
  };
}

/** Key algorithm family of a certificate's public key. */
export function keyFamily(c: ParsedCertificate): "ec" | "rsa" {
  if (c.keyAlg === OID.ecPublicKey && c.keyCurve === OID.prime256v1) {
    return "ec";
  }
  if (c.keyAlg === OID.rsaEncryption) return "rsa";
  throw new TokenError(
    "malformed",
    `unsupported CA key algorithm ${c.keyAlg}${
      c.keyCurve ? ` (${c.keyCurve})` : ""
    }: expected EC P-256 or RSA`,
  );
}

/** Imports a certificate's public key for verifying signatures. */
export function importPublicKey(c: ParsedCertificate): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    "spki",
    ab(c.spki),
    keyFamily(c) === "ec" ? EC_PARAMS : RSA_PARAMS,
    false,
    ["verify"],
  );
}

/** Imports a PKCS#8 private key of the given family for signing. */
export async function importPrivateKey(
  pkcs8: Uint8Array,
  family: "ec" | "rsa",
): Promise<CryptoKey> {
  let alg: string;
  try {
    const top = readTlv(pkcs8, 0, pkcs8.length);
    const [, algT] = children(pkcs8, top);
    alg = readOid(pkcs8, children(pkcs8, algT)[0]);
  } catch {
    throw new TokenError("malformed", "the CA key is not a PKCS#8 key");
  }
  const want = family === "ec" ? OID.ecPublicKey : OID.rsaEncryption;
  if (alg !== want) {
    throw new TokenError(
      "key_mismatch",
      `the CA key is ${
        alg === OID.ecPublicKey
          ? "an EC"
          : alg === OID.rsaEncryption
          ? "an RSA"
          : `an ${alg}`
      } key but the CA certificate has ${
        family === "ec" ? "an EC P-256" : "an RSA"
      } key`,
    );
  }
  try {
    return await crypto.subtle.importKey(
      "pkcs8",
      ab(pkcs8),
      family === "ec" ? EC_PARAMS : RSA_PARAMS,
      false,
      ["sign"],
    );
  } catch (e) {
    throw new TokenError(
      "malformed",
      `the CA key cannot be imported: ${(e as Error).message}`,
    );
  }
}

/** Signs with a CA key; returns the bytes that go into the BIT STRING. */
export async function signTbs(
  key: CryptoKey,
  family: "ec" | "rsa",
  tbs: Uint8Array,
): Promise<Uint8Array> {
  if (family === "rsa") {
    return new Uint8Array(await crypto.subtle.sign(RSA_PARAMS, key, ab(tbs)));
  }
  const raw = new Uint8Array(await crypto.subtle.sign(EC_SIGN, key, ab(tbs)));
  return seq(uintBytes(raw.subarray(0, 32)), uintBytes(raw.subarray(32)));
}

/**
 * X.509's ECDSA-Sig-Value (DER SEQUENCE of r, s) to Web Crypto's r‖s.
 * Returns undefined when it is not a well-formed P-256 signature.
 */
function ecSigToRaw(sig: Uint8Array): Uint8Array | undefined {
  try {
    const top = readTlv(sig, 0, sig.length);
    if (top.tag !== TAG.SEQUENCE || top.end !== sig.length) return undefined;
    const [r, s, extra] = children(sig, top);
    if (!s || extra || r.tag !== TAG.INTEGER || s.tag !== TAG.INTEGER) {
      return undefined;
    }
    const out = new Uint8Array(64);
    for (const [t, off] of [[r, 0], [s, 32]] as const) {
      let v = valueOf(sig, t);
      while (v.length > 1 && v[0] === 0) v = v.subarray(1);
      if (v.length > 32) return undefined;
      out.set(v, off + 32 - v.length);
    }
    return out;
  } catch {
    return undefined;
  }
}

/** Verifies a certificate's signature with a CA public key. */
export async function verifySignature(
  caKey: CryptoKey,
  family: "ec" | "rsa",
  c: ParsedCertificate,
): Promise<boolean> {
  if (family === "rsa") {
    if (c.sigAlg !== OID.sha256WithRsa) return false;
    return await crypto.subtle.verify(
      RSA_PARAMS,
      caKey,
      ab(c.signature),
      ab(c.tbs),
    );
  }
  if (c.sigAlg !== OID.ecdsaWithSha256) return false;
  const raw = ecSigToRaw(c.signature);
  if (!raw) return false;
  return await crypto.subtle.verify(EC_SIGN, caKey, ab(raw), ab(c.tbs));
}

/**
 * Key identifier: the leftmost 160 bits of the SHA-256 of the
 * subjectPublicKey bits (RFC 7093 method 1).
 */
export function keyId(publicKey: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(publicKey).digest())
    .subarray(0, 20);
}

/** Lowercase hex SHA-256 of some bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** `[0] keyIdentifier` AuthorityKeyIdentifier value. */
export function authorityKeyIdValue(id: Uint8Array): Uint8Array {
  return seq(tlv(0x80, id));
}

/** Random positive serial of 16 bytes whose first byte is non-zero. */
export function randomSerial(): Uint8Array {
  const b = crypto.getRandomValues(new Uint8Array(16));
  // A non-zero first byte keeps the hex form at 32 digits.
  while (b[0] === 0) b[0] = crypto.getRandomValues(new Uint8Array(1))[0];
  return b;
}
