/**
 * Verifying token certificates against our CA.
 *
 * @module
 */
import { bytesEqual } from "./_der.ts";
import {
  importPublicKey,
  keyFamily,
  sha256Hex,
  verifySignature,
} from "./_keys.ts";
import {
  formatName,
  parseCertificate,
  type ParsedCertificate,
} from "./_x509.ts";
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
 * window, CA:false, and a well-formed role DN (JOB tokens with job ID and
 * owner). Successful verifications are cached by certificate (bounded LRU);
 * the validity window is checked again on every call.
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
  #ca: ParsedCertificate;
  #family: "ec" | "rsa";
  #key: Promise<CryptoKey> | undefined;
  #cache = new Map<string, TokenIdentity>();
  #max: number;

  /**
   * @param caCertPem the CA certificate, PEM.
   * @throws {TokenError} `malformed` for unreadable PEM/DER or an
   * unsupported key, `not_ca` for a certificate that is not a CA.
   */
  constructor(caCertPem: string, opts: TokenVerifierOptions = {}) {
    this.#ca = parseCertificate(pemToDer(caCertPem));
    if (!this.#ca.ext.basicConstraints?.ca) {
      throw new TokenError(
        "not_ca",
        `"${formatName(this.#ca.subject)}" is not a CA certificate`,
      );
    }
    this.#family = keyFamily(this.#ca);
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
    const c = parseCertificate(der);
    if (!this.#sameIssuer(c)) {
      throw new TokenError(
        "unknown_issuer",
        `issued by "${formatName(c.issuer)}", not by the CA "${
          formatName(this.#ca.subject)
        }"`,
      );
    }
    this.#key ??= importPublicKey(this.#ca);
    if (!await verifySignature(await this.#key, this.#family, c)) {
      throw new TokenError(
        "bad_signature",
        `the signature of "${
          formatName(c.subject)
        }" does not verify with the CA's key`,
      );
    }
    if (c.ext.unknownCritical.length) {
      throw new TokenError(
        "malformed",
        `unsupported critical extension ${c.ext.unknownCritical.join(", ")}`,
      );
    }
    if (c.ext.basicConstraints?.ca !== false) {
      throw new TokenError(
        "not_leaf",
        c.ext.basicConstraints
          ? "a CA certificate cannot be used as a token"
          : "a token needs basicConstraints CA:false",
      );
    }
    const id = identityOf(c, sha256Hex(der));
    this.#checkTime(id.notBefore, id.notAfter, now);
    if (this.#max > 0) {
      if (this.#cache.size >= this.#max) {
        this.#cache.delete(this.#cache.keys().next().value!);
      }
      this.#cache.set(cacheKey, id);
    }
    return copy(id);
  }

  #sameIssuer(c: ParsedCertificate): boolean {
    if (bytesEqual(c.issuer.der, this.#ca.subject.der)) return true;
    // Same attributes in other string types (another encoder) still match.
    return formatName(c.issuer) === formatName(this.#ca.subject);
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
