/**
 * The one error type of the token module.
 *
 * @module
 */

/**
 * Short machine-readable codes carried by {@link TokenError}:
 *
 * - `malformed`: not PEM/DER, or not an X.509 certificate or key we can read;
 * - `unreadable`: a file could not be read;
 * - `invalid_input`: bad options or a bad duration given by the caller;
 * - `unknown_issuer`: issued by another CA (issuer DN is not our CA's);
 * - `bad_signature`: the signature does not verify with our CA's key;
 * - `expired` / `not_yet_valid`: outside the validity window;
 * - `not_leaf`: a CA certificate (basicConstraints cA) presented as a token;
 * - `not_ca`: a certificate used as the CA is not a CA certificate;
 * - `key_mismatch`: a CA key that does not belong to the CA certificate;
 * - `bad_role`: the role OU is missing, repeated or unknown;
 * - `bad_dn`: the DN does not follow the token layout (e.g. a JOB token
 *   without its job ID or owner, an unexpected attribute).
 */
export type TokenErrorReason =
  | "malformed"
  | "unreadable"
  | "invalid_input"
  | "unknown_issuer"
  | "bad_signature"
  | "expired"
  | "not_yet_valid"
  | "not_leaf"
  | "not_ca"
  | "key_mismatch"
  | "bad_role"
  | "bad_dn";

/**
 * A token certificate, key or option was refused; `reason` says why in a
 * form callers can map to HTTP or CLI output, `message` in words.
 *
 * @example
 * ```ts
 * import { TokenError } from "./token_error.ts";
 * const e = new TokenError("expired", "token expired at 2024-01-01T00:00:00Z");
 * e.reason; // "expired"
 * ```
 */
export class TokenError extends Error {
  /** Short machine code, see {@link TokenErrorReason}. */
  readonly reason: TokenErrorReason;

  /**
   * @param reason the machine code callers map to HTTP 401/403 or CLI exit codes.
   * @param message one line for a human, naming the certificate or option.
   */
  constructor(reason: TokenErrorReason, message: string) {
    super(message);
    this.name = "TokenError";
    this.reason = reason;
  }
}
