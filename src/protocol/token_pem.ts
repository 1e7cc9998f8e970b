/**
 * The PEM shape of a token as it travels: in the broker's match response,
 * in the `Start` frame and in a token directory on disk.
 *
 * @module
 */

/** A token certificate, its key and the CA that signed it, as PEM text. */
export interface TokenPem {
  /** The token certificate (its role and, for a job token, job ID in the DN). */
  certPem: string;
  /** Its private key, PKCS#8 PEM. */
  keyPem: string;
  /** The CA certificate that signs the broker's and the tokens' certs. */
  caPem: string;
}
