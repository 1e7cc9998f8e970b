/**
 * Test helpers: certificates made by an independent encoder
 * (`@peculiar/x509`) to cross-check ours and to forge the bad certificates
 * the verifier must refuse, plus temp-dir and openssl helpers.
 * Only tests import this module.
 *
 * @module
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import type { CaFiles } from "../src/token/create_ca.ts";
import { derToPem, pemToDer } from "../src/token/pem.ts";

export { x509 };

const EC = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

function useWebCrypto(): void {
  x509.cryptoProvider.set(crypto);
}

/** Imports a CA's PKCS#8 key for @peculiar/x509 (EC CAs only). */
export async function caSigningKey(ca: CaFiles): Promise<CryptoKey> {
  return await crypto.subtle.importKey(
    "pkcs8",
    pemToDer(ca.keyPem) as Uint8Array<ArrayBuffer>,
    EC,
    false,
    ["sign"],
  );
}

/** Options of {@link forge}. */
export interface ForgeOptions {
  /** Subject in DER order, @peculiar syntax: `"O=splitpilot, OU=USER, CN=a"`. */
  subject: string;
  /** Signs with this CA's key and names it as issuer; else self-signed. */
  signer?: CaFiles;
  /** Issuer name when self-signed. @default subject */
  issuerOf?: CaFiles;
  /** basicConstraints: leaf (CA:false), ca (CA:true) or none. @default "leaf" */
  basic?: "leaf" | "ca" | "none";
  /** @default now − 60 s */
  notBefore?: Date;
  /** @default now + 1 h */
  notAfter?: Date;
}

/** A certificate made by @peculiar/x509 with a fresh EC key. */
export async function forge(
  opts: ForgeOptions,
): Promise<{ certPem: string; keyPem: string; der: Uint8Array }> {
  useWebCrypto();
  const keys = await crypto.subtle.generateKey(EC, true, ["sign", "verify"]);
  const extensions: x509.Extension[] = [];
  if ((opts.basic ?? "leaf") !== "none") {
    extensions.push(
      new x509.BasicConstraintsExtension(opts.basic === "ca", undefined, true),
    );
  }
  extensions.push(
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
  );
  const issuerPem = opts.signer?.certPem ?? opts.issuerOf?.certPem;
  const issuer = issuerPem
    ? new x509.X509Certificate(issuerPem).subjectName
    : opts.subject;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: "0" + crypto.getRandomValues(new Uint8Array(15)).toHex(),
    subject: opts.subject,
    issuer,
    notBefore: opts.notBefore ?? new Date(Date.now() - 60_000),
    notAfter: opts.notAfter ?? new Date(Date.now() + 3600_000),
    publicKey: keys.publicKey,
    signingKey: opts.signer ? await caSigningKey(opts.signer) : keys.privateKey,
    signingAlgorithm: EC,
    extensions,
  });
  const der = new Uint8Array(cert.rawData);
  return {
    certPem: derToPem(der, "CERTIFICATE"),
    keyPem: derToPem(
      new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey)),
      "PRIVATE KEY",
    ),
    der,
  };
}

/** Parses a PEM certificate with @peculiar/x509. */
export function peculiar(certPem: string): x509.X509Certificate {
  useWebCrypto();
  return new x509.X509Certificate(certPem);
}

/** Runs openssl with arguments; returns exit code and combined output. */
export async function openssl(
  ...args: string[]
): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command("openssl", {
    args,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}
