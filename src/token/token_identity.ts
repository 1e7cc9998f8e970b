/**
 * Reading the identity a token certificate claims, without verifying it.
 *
 * @module
 */
import { identityFields } from "./_dn.ts";
import { sha256Hex } from "./_keys.ts";
import {
  formatName,
  parseCertificate,
  type ParsedCertificate,
} from "./_x509.ts";
import { pemToDer } from "./pem.ts";
import type { Role } from "./role.ts";

/** Who a token certificate speaks for. */
export interface TokenIdentity {
  /** Grid role (the DN's OU). */
  role: Role;
  /** The CN. */
  subject: string;
  /** JOB only: the job ID (DN `serialNumber`). */
  jobId?: string;
  /** JOB only: the job's owner (DN `UID`). */
  owner?: string;
  /** USER only: whether the DN carries `title=admin`. */
  admin: boolean;
  /** Certificate serial number, lowercase hex. */
  serial: string;
  /** Start of validity. */
  notBefore: Date;
  /** End of validity. */
  notAfter: Date;
  /** SHA-256 of the certificate DER, lowercase hex. */
  fingerprint: string;
  /** The subject DN, RFC 4514 order: `CN=alice, OU=USER, O=splitpilot`. */
  dn: string;
}

/** Builds the identity of a parsed certificate (throws bad_role/bad_dn). */
export function identityOf(
  c: ParsedCertificate,
  fingerprint: string,
): TokenIdentity {
  const f = identityFields(c.subject);
  const id: TokenIdentity = {
    role: f.role,
    subject: f.subject,
    admin: f.admin,
    serial: c.serial.toHex(),
    notBefore: c.notBefore,
    notAfter: c.notAfter,
    fingerprint,
    dn: formatName(c.subject),
  };
  if (f.jobId !== undefined) id.jobId = f.jobId;
  if (f.owner !== undefined) id.owner = f.owner;
  return id;
}

/**
 * Parses the identity a token certificate (DER bytes, e.g.
 * `getPeerCertificate().raw`, or PEM text) claims. It does NOT check the
 * signature or validity: use {@link TokenVerifier} for anything that
 * grants access.
 *
 * @throws {TokenError} `malformed`, `bad_role` or `bad_dn`.
 *
 * @example
 * ```ts
 * import { createCa, TokenIssuer, tokenIdentity } from "./mod.ts";
 * const issuer = await TokenIssuer.fromPem(await createCa());
 * const t = await issuer.issue({ role: "USER", subject: "alice", ttlSeconds: 60 });
 * tokenIdentity(t.certPem).dn; // "CN=alice, OU=USER, O=splitpilot"
 * ```
 */
export function tokenIdentity(cert: Uint8Array | string): TokenIdentity {
  const der = typeof cert === "string" ? pemToDer(cert) : cert;
  const parsed = parseCertificate(der);
  return identityOf(parsed, sha256Hex(der));
}
