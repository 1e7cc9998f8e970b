/**
 * Incremental SHA-256 for staged files, loading `node:crypto` only on
 * first use: it costs the wrapper ~15 ms and ~10 MB at start-up, and most
 * jobs need it only after the payload has run (uploads).
 *
 * @module
 */

/** An incremental hash. */
export interface Sha256 {
  /** Adds data. */
  update(data: Uint8Array): void;
  /** Lowercase hex digest. */
  hex(): string;
}

/** Creates an incremental SHA-256. */
export async function sha256(): Promise<Sha256> {
  const { createHash } = await import("node:crypto");
  const h = createHash("sha256");
  return {
    update: (d) => void h.update(d),
    hex: () => h.digest("hex"),
  };
}
