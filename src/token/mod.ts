/**
 * Token certificates as in JAliEn: full, time-limited X.509 v3
 * certificates signed by an internal CA, with the grid role in the DN.
 *
 * ## DN layout
 *
 * Written in RFC 4514 order (least significant first), as
 * {@link TokenIdentity.dn} shows it:
 *
 * | role | subject DN |
 * |---|---|
 * | USER | `CN=<subject>, OU=USER, O=splitpilot` |
 * | USER, admin | `CN=<subject>, title=admin, OU=USER, O=splitpilot` |
 * | JOB_AGENT | `CN=<subject>, OU=JOB_AGENT, O=splitpilot` |
 * | JOB | `CN=<subject>, serialNumber=<jobId>, UID=<owner>, OU=JOB, O=splitpilot` |
 * | HOST | `CN=<subject>, OU=HOST, O=splitpilot` |
 * | CA | `CN=<ca subject>, O=splitpilot` (default `CN=splitpilot CA`) |
 *
 * The DER order is the reverse (O first), so `openssl x509 -subject` shows
 * `O = splitpilot, OU = JOB, UID = alice, serialNumber = 42, CN = alice`.
 * The role is always the single `OU`; the job ID is the X.520
 * `serialNumber` attribute (2.5.4.5, PrintableString), the owner the
 * `UID` attribute (0.9.2342.19200300.100.1.1), the admin flag
 * `title=admin` (2.5.4.12). All other values are UTF8String. Subjects and
 * owners are 1–64 characters of `[A-Za-z0-9._@:-]`, job IDs of
 * `[A-Za-z0-9.:-]`, so DN text never needs escaping. The broker issues JOB
 * tokens with subject = owner.
 *
 * Note: `getPeerCertificate().subject` under Deno lists only C, ST, L, O,
 * OU, CN and emailAddress, so it shows role and subject but not the job ID
 * or owner; read those with {@link TokenVerifier.verify} on
 * `getPeerCertificate().raw`.
 *
 * ## Certificate profile
 *
 * - ECDSA P-256 keys by default (RSA 2048/3072 on request), signatures
 *   ecdsa-with-SHA256 or sha256WithRSAEncryption depending on the CA key;
 * - random positive 128-bit serial numbers;
 * - notBefore = now − 60 s (clock skew), notAfter = now + TTL;
 * - basicConstraints CA:false (critical); keyUsage digitalSignature
 *   (+ keyEncipherment for RSA keys, critical); extendedKeyUsage serverAuth
 *   and clientAuth for HOST (a site's factory is a client too), clientAuth
 *   otherwise; HOST tokens get subjectAltName
 *   IP 127.0.0.1, DNS localhost, the subject if it is a host name, and any
 *   `hosts`; subject and authority key identifiers;
 * - the CA: basicConstraints CA:true pathlen 0, keyUsage
 *   keyCertSign|cRLSign, 10 years.
 *
 * Encoding and parsing use a small built-in DER codec for exactly this
 * profile and signatures use Web Crypto directly: on the 2-core dev VM,
 * `@peculiar/x509` issued ~5x and verified ~4x fewer certificates per
 * second (see `scripts/bench_tokens.ts`). Importing this module does not
 * load `@peculiar/x509` (the wrapper's start path stays light).
 *
 * @example
 * ```ts
 * import { createCa, TokenIssuer, TokenVerifier } from "./mod.ts";
 * const ca = await createCa();
 * const issuer = await TokenIssuer.fromPem(ca);
 * const token = await issuer.issue({ role: "USER", subject: "alice", ttlSeconds: 3600 });
 * const who = await new TokenVerifier(ca.certPem).verify(token.certPem);
 * who.role; // "USER"
 * ```
 *
 * @module
 */
export { type KeyAlgorithm, type Role, ROLES } from "./role.ts";
export { TokenError, type TokenErrorReason } from "./token_error.ts";
export { type CaFiles, createCa, type CreateCaOptions } from "./create_ca.ts";
export {
  type IssuedToken,
  type IssueOptions,
  TokenIssuer,
} from "./token_issuer.ts";
export { type TokenIdentity, tokenIdentity } from "./token_identity.ts";
export {
  TokenVerifier,
  type TokenVerifierOptions,
  type VerifyOptions,
} from "./token_verifier.ts";
export { type CertificateInfo, certificateInfo } from "./certificate_info.ts";
export { derToPem, pemToDer, readPemFile } from "./pem.ts";
export { parseDuration } from "./duration.ts";
