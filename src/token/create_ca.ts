/**
 * Creating the internal CA that signs token certificates.
 *
 * @module
 */
import { namedBits, octetString, seq, smallInt, TRUE } from "./_der.ts";
import { CA_NAME_RE, encodeCaName } from "./_dn.ts";
import {
  checkKeyAlgorithm,
  generateKey,
  keyId,
  randomSerial,
  SIG_ALG,
  signTbs,
} from "./_keys.ts";
import { encodeCertificate, encodeTbs, extension, OID } from "./_x509.ts";
import { derToPem } from "./pem.ts";
import type { KeyAlgorithm } from "./role.ts";
import { TokenError } from "./token_error.ts";

/** A CA as two PEM texts. */
export interface CaFiles {
  /** The self-signed CA certificate. */
  certPem: string;
  /** The CA private key, PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). */
  keyPem: string;
}

/** Options of {@link createCa}. */
export interface CreateCaOptions {
  /** CN of the CA; the DN is `CN=<subject>, O=splitpilot`. @default "splitpilot CA" */
  subject?: string;
  /** Key algorithm. @default "ecdsa-p256" */
  algorithm?: KeyAlgorithm;
  /** Lifetime in seconds. @default 315360000 (10 years) */
  ttlSeconds?: number;
}

/** Clock skew allowance applied to every notBefore we write. */
export const SKEW_SECONDS = 60;

/**
 * Creates a self-signed CA: basicConstraints CA:true with pathlen 0
 * (it signs only end-entity tokens), keyUsage keyCertSign|cRLSign,
 * notBefore = now − 60 s.
 *
 * @throws {TokenError} `invalid_input` for a bad subject, algorithm or TTL.
 *
 * @example
 * ```ts
 * import { createCa } from "./create_ca.ts";
 * const ca = await createCa({ subject: "test CA" });
 * ca.certPem.startsWith("-----BEGIN CERTIFICATE-----"); // true
 * ```
 */
export async function createCa(opts: CreateCaOptions = {}): Promise<CaFiles> {
  const subject = opts.subject ?? "splitpilot CA";
  if (typeof subject !== "string" || !CA_NAME_RE.test(subject)) {
    throw new TokenError(
      "invalid_input",
      `invalid CA subject "${subject}": expected 1-64 characters of [A-Za-z0-9 ._@:-], no leading or trailing space`,
    );
  }
  const alg = checkKeyAlgorithm(opts.algorithm ?? "ecdsa-p256", "createCa");
  const ttl = opts.ttlSeconds ?? 10 * 365 * 86400;
  if (!Number.isFinite(ttl) || ttl <= 0) {
    throw new TokenError(
      "invalid_input",
      `invalid CA ttlSeconds ${ttl}: expected a positive number of seconds`,
    );
  }
  const gen = await generateKey(alg);
  const family = gen.rsa ? "rsa" : "ec";
  const now = Math.floor(Date.now() / 1000) * 1000;
  const name = encodeCaName(subject);
  const ski = keyId(gen.publicKey);
  const sigAlg = SIG_ALG[family];
  const tbs = encodeTbs({
    serial: randomSerial(),
    sigAlg,
    issuer: name,
    subject: name,
    notBefore: new Date(now - SKEW_SECONDS * 1000),
    notAfter: new Date(now + Math.floor(ttl) * 1000),
    spki: gen.spki,
    extensions: [
      extension(OID.basicConstraints, true, seq(TRUE, smallInt(0))),
      // keyCertSign (5) and cRLSign (6).
      extension(OID.keyUsage, true, namedBits([5, 6])),
      extension(OID.subjectKeyId, false, octetString(ski)),
    ],
  });
  const sig = await signTbs(gen.keys.privateKey, family, tbs);
  return {
    certPem: derToPem(encodeCertificate(tbs, sigAlg, sig), "CERTIFICATE"),
    keyPem: derToPem(gen.pkcs8, "PRIVATE KEY"),
  };
}
