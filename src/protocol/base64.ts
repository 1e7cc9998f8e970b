/**
 * Base64 for inline files in batches (`src/broker/batch.ts`), written by the wrapper and the agent and read by the broker. Web
 * platform `atob`/`btoa` work on binary strings; these two helpers keep
 * that detail in one place.
 *
 * @module
 */

/** Bytes of a base64 text (throws on a malformed one). */
export function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Base64 text of `bytes`. */
export function encodeBase64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}
