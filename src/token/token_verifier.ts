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
 * owner). Certificates are parsed and their signatures checked by the
 * platform's X.509 code (`node:crypto`), never by our own DER reader.
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
  verify(
    cert: Uint8Array | string,
    opts: VerifyOptions = {},
  ): Promise<TokenIdentity> {
    // Synchronous inside; a promise outside, so a refusal is a rejection
    // (and the signature check may move to an async API without callers
    // noticing).
    try {
      return Promise.resolve(this.#verify(cert, opts));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #verify(cert: Uint8Array | string, opts: VerifyOptions): TokenIdentity {
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
    if (!verifies(c, this.#caKey)) {
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

/** Whether the CA's key verifies `c`'s signature; a parser error is a no. */
function verifies(c: ReadCertificate, key: KeyObject): boolean {
  try {
    return c.x509.verify(key);
  } catch {
    return false;
  }
}
