/**
 * A neutral description of any certificate (token, CA or foreign), for
 * CLI output and messages.
 *
 * @module
 */
import { children, readTlv, readUint } from "./_der.ts";
import { sha256Hex } from "./_keys.ts";
import { formatName, OID, parseCertificate } from "./_x509.ts";
import { pemToDer } from "./pem.ts";

/** What {@link certificateInfo} reports. */
export interface CertificateInfo {
  /** Subject DN, RFC 4514 order. */
  subject: string;
  /** Issuer DN, RFC 4514 order. */
  issuer: string;
  /** Serial number, lowercase hex. */
  serial: string;
  /** Start of validity. */
  notBefore: Date;
  /** End of validity. */
  notAfter: Date;
  /** SHA-256 of the DER, lowercase hex. */
  fingerprint: string;
  /** basicConstraints CA:true. */
  isCa: boolean;
  /** Key type: `EC P-256`, `RSA-2048`, … or the algorithm OID. */
  key: string;
}

/**
 * Describes a certificate (DER or PEM) without verifying anything.
 *
 * @throws {TokenError} `malformed` if it is not an X.509 certificate.
 */
export function certificateInfo(cert: Uint8Array | string): CertificateInfo {
  const der = typeof cert === "string" ? pemToDer(cert) : cert;
  const c = parseCertificate(der);
  let key: string = c.keyAlg;
  if (c.keyAlg === OID.ecPublicKey) {
    key = c.keyCurve === OID.prime256v1 ? "EC P-256" : "EC";
  } else if (c.keyAlg === OID.rsaEncryption) {
    key = `RSA-${rsaBits(c.publicKey)}`;
  }
  return {
    subject: formatName(c.subject),
    issuer: formatName(c.issuer),
    serial: c.serial.toHex(),
    notBefore: c.notBefore,
    notAfter: c.notAfter,
    fingerprint: sha256Hex(der),
    isCa: c.ext.basicConstraints?.ca === true,
    key,
  };
}

/** Modulus size of an RSAPublicKey (SEQUENCE { INTEGER n, INTEGER e }). */
function rsaBits(pk: Uint8Array): number {
  try {
    const [n] = children(pk, readTlv(pk, 0, pk.length));
    return readUint(pk, n, "modulus").length * 8;
  } catch {
    return 0;
  }
}
