/**
 * Verifying token certificates against our CA.
 *
 * @module
 */
import type { KeyObject } from "node:crypto";
import { formatName } from "./_x509.ts";
import {
  parseNameText,
  type ReadCertificate,
  readCertificate,
  signedParts,
} from "./read_certificate.ts";
import { pemToDer } from "./pem.ts";
import { identityOf, type TokenIdentity } from "./token_identity.ts";
import { TokenError } from "./token_error.ts";

/** Options of {@link TokenVerifier}. */
export interface TokenVerifierOptions {
  /** How many verified certificates to remember. @default 4096 */
  cacheSize?: number;
}

/** Options of {@link TokenVerifier.verify}. */
export interface VerifyOptions {
  /** The time to check validity at. @default new Date() */
  now?: Date;
}

function copy(id: TokenIdentity): TokenIdentity {
  return {
    ...id,
    notBefore: new Date(id.notBefore),
    notAfter: new Date(id.notAfter),
  };
}

/**
 * Verifies token certificates: signature by this CA, issuer DN, validity
 * window, not a CA, and a well-formed role DN (JOB tokens with job ID and
 * owner). Certificates are parsed by the platform's X.509 code
 * (`node:crypto`'s `X509Certificate`), never by our own DER reader; the
 * signature is checked with Web Crypto over the signed bytes, which is
 * about twice as fast as `X509Certificate.verify` on Deno 2.9.6.
 * Successful verifications are cached by certificate (bounded LRU); the
 * validity window is checked again on every call.
 *
 * RFC 5280's rule on unknown critical extensions is left to the TLS
 * layer, whose verdict the broker requires as a second gate (see
 * `peer.tlsAuthorized` in the handler): `X509Certificate` does not list
 * extensions.
 *
 * Revocation (a job token dies with its job) is the caller's business: it
 * knows the job's state and the serial it issued.
 *
 * @example
 * ```ts
 * import { createCa, TokenIssuer, TokenVerifier } from "./mod.ts";
 * const ca = await createCa();
 * const t = await (await TokenIssuer.fromPem(ca)).issue({
 *   role: "JOB", subject: "alice", owner: "alice", jobId: "42", ttlSeconds: 600,
 * });
 * const who = await new TokenVerifier(ca.certPem).verify(t.certPem);
 * who.jobId; // "42"
 * ```
 */
export class TokenVerifier {
  #ca: ReadCertificate;
  #caName: string;
  #caKey: KeyObject;
  #webKey: Promise<CryptoKey> | undefined;
  #cache = new Map<string, TokenIdentity>();
  #max: number;

  /**
   * @param caCertPem the CA certificate, PEM.
   * @throws {TokenError} `malformed` for unreadable PEM/DER or an
   * unsupported key, `not_ca` for a certificate that is not a CA.
   */
  constructor(caCertPem: string, opts: TokenVerifierOptions = {}) {
    this.#ca = readCertificate(caCertPem);
    this.#caName = formatName({ rdns: this.#ca.subject });
    if (!this.#ca.x509.ca) {
      throw new TokenError(
        "not_ca",
        `"${this.#caName}" is not a CA certificate`,
      );
    }
    this.#caKey = this.#ca.x509.publicKey;
    checkKeyFamily(this.#caKey);
    this.#max = Math.max(0, opts.cacheSize ?? 4096);
  }

  /** How many verified certificates are cached now (for metrics and tests). */
  get cached(): number {
    return this.#cache.size;
  }

  /**
   * Verifies a token certificate (DER bytes or PEM text) and returns the
   * identity it carries.
   *
   * @throws {TokenError} with reason `malformed`, `unknown_issuer`,
   * `bad_signature`, `not_leaf`, `bad_role`, `bad_dn`, `expired` or
   * `not_yet_valid`.
   */
  async verify(
    cert: Uint8Array | string,
    opts: VerifyOptions = {},
  ): Promise<TokenIdentity> {
    const der = typeof cert === "string" ? pemToDer(cert) : cert;
    const now = opts.now ?? new Date();
    // The DER itself is the key: exact, and cheaper than hashing it.
    const cacheKey = der.toBase64();
    const hit = this.#cache.get(cacheKey);
    if (hit) {
      this.#cache.delete(cacheKey);
      this.#cache.set(cacheKey, hit);
      this.#checkTime(hit.notBefore, hit.notAfter, now);
      return copy(hit);
    }
    const c = readCertificate(der);
    if (!this.#sameIssuer(c)) {
      throw new TokenError(
        "unknown_issuer",
        `issued by "${
          formatName({ rdns: parseNameText(c.x509.issuer) })
        }", not by the CA "${this.#caName}"`,
      );
    }
    if (!await this.#signedByCa(c)) {
      throw new TokenError(
        "bad_signature",
        `the signature of "${
          formatName({ rdns: c.subject })
        }" does not verify with the CA's key`,
      );
    }
    if (c.x509.ca) {
      throw new TokenError(
        "not_leaf",
        "a CA certificate cannot be used as a token",
      );
    }
    const id = identityOf(c);
    this.#checkTime(id.notBefore, id.notAfter, now);
    if (this.#max > 0) {
      if (this.#cache.size >= this.#max) {
        this.#cache.delete(this.#cache.keys().next().value!);
      }
      this.#cache.set(cacheKey, id);
    }
    return copy(id);
  }

  /** The CA's signature on `c`, checked with Web Crypto. */
  async #signedByCa(c: ReadCertificate): Promise<boolean> {
    const parts = signedParts(c.der);
    if (!parts) return false;
    const alg = parts.algorithm.toHex();
    this.#webKey ??= webCryptoKey(this.#caKey);
    const key = await this.#webKey;
    if (key.algorithm.name === "ECDSA") {
      if (alg !== ECDSA_SHA256) return false;
      const raw = ecdsaRaw(parts.signature);
      return !!raw &&
        await crypto.subtle.verify(EC_VERIFY, key, raw, ab(parts.tbs));
    }
    if (!RSA_SHA256.includes(alg)) return false;
    return await crypto.subtle.verify(
      RSA_VERIFY,
      key,
      ab(parts.signature),
      ab(parts.tbs),
    );
  }

  #sameIssuer(c: ReadCertificate): boolean {
    if (c.x509.checkIssued(this.#ca.x509)) return true;
    // Same attributes in other string types (another encoder) still match.
    return formatName({ rdns: parseNameText(c.x509.issuer) }) === this.#caName;
  }

  #checkTime(notBefore: Date, notAfter: Date, now: Date): void {
    const t = now.getTime();
    if (t > this.#ca.notAfter.getTime()) {
      throw new TokenError(
        "expired",
        `the CA certificate expired at ${this.#ca.notAfter.toISOString()}`,
      );
    }
    if (t > notAfter.getTime()) {
      throw new TokenError(
        "expired",
        `token expired at ${notAfter.toISOString()} (now ${now.toISOString()})`,
      );
    }
    if (t < notBefore.getTime()) {
      throw new TokenError(
        "not_yet_valid",
        `token not valid before ${notBefore.toISOString()} (now ${now.toISOString()})`,
      );
    }
  }
}

/** Refuses CA keys other than EC P-256 and RSA, as the issuer does. */
function checkKeyFamily(key: KeyObject): void {
  const type = key.asymmetricKeyType;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (type === "rsa") return;
  if (type === "ec" && (curve === "prime256v1" || curve === "P-256")) return;
  throw new TokenError(
    "malformed",
    `unsupported CA key algorithm ${type}${
      curve ? ` (${curve})` : ""
    }: expected EC P-256 or RSA`,
  );
}

/** `signatureAlgorithm` elements we accept, as hex DER. */
const ECDSA_SHA256 = "300a06082a8648ce3d040302";
const RSA_SHA256 = [
  "300d06092a864886f70d01010b0500", // with NULL parameters (RFC 4055)
  "300b06092a864886f70d01010b", // parameters absent, as some encoders write
];
const EC_VERIFY = { name: "ECDSA", hash: "SHA-256" } as const;
const RSA_VERIFY = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } as const;

function ab(b: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(b);
}

/** The CA's public key for Web Crypto, from the platform's key object. */
function webCryptoKey(key: KeyObject): Promise<CryptoKey> {
  const jwk = key.export({ format: "jwk" });
  const params = key.asymmetricKeyType === "ec"
    ? { name: "ECDSA", namedCurve: "P-256" }
    : RSA_VERIFY;
  return crypto.subtle.importKey("jwk", jwk, params, false, ["verify"]);
}

/**
 * An ECDSA signature `SEQUENCE { r INTEGER, s INTEGER }` as the 64 bytes
 * `r || s` Web Crypto wants; undefined for anything else.
 */
function ecdsaRaw(sig: Uint8Array): Uint8Array<ArrayBuffer> | undefined {
  if (sig.length < 8 || sig[0] !== 0x30 || sig[1] !== sig.length - 2) {
    return undefined;
  }
  const out = new Uint8Array(64);
  let at = 2;
  for (const off of [0, 32]) {
    if (sig[at] !== 0x02) return undefined;
    const len = sig[at + 1];
    let v = sig.subarray(at + 2, at + 2 + len);
    if (len === 0 || v.length !== len) return undefined;
    while (v.length > 1 && v[0] === 0) v = v.subarray(1);
    if (v.length > 32) return undefined;
    out.set(v, off + 32 - v.length);
    at += 2 + len;
  }
  return at === sig.length ? out : undefined;
}
