/**
 * Reading the identity a token certificate claims, without verifying it.
 *
 * @module
 */
import { identityFields } from "./_dn.ts";
import { formatName } from "./_x509.ts";
import { type ReadCertificate, readCertificate } from "./read_certificate.ts";
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
export function identityOf(c: ReadCertificate): TokenIdentity {
  const name = { rdns: c.subject };
  const f = identityFields(name);
  const id: TokenIdentity = {
    role: f.role,
    subject: f.subject,
    admin: f.admin,
    serial: c.serial,
    notBefore: c.notBefore,
    notAfter: c.notAfter,
    fingerprint: c.fingerprint,
    dn: formatName(name),
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
  return identityOf(readCertificate(cert));
}
