/**
 * When a certificate stops being valid, read with our own DER parser: for
 * a process that only plans around its own token's lifetime (the agent)
 * and must not load `node:crypto` for that alone (its Node compatibility
 * layer costs the agent resident memory; README "Performance"). Nothing
 * is verified here.
 *
 * @module
 */
import { parseCertificate } from "./_x509.ts";
import { pemToDer } from "./pem.ts";

/** The `notAfter` of a certificate (PEM text or DER bytes). */
export function certificateNotAfter(cert: string | Uint8Array): Date {
  return parseCertificate(typeof cert === "string" ? pemToDer(cert) : cert)
    .notAfter;
}
