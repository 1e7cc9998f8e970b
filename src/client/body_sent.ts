/**
 * Noticing when a streamed request body has been sent, so that the wait
 * for the answer can be bounded from then on (`broker_client.ts`): an
 * upload may stream for as long as it needs, but once its last byte is
 * out, an answer that never comes must not hold the caller forever.
 *
 * @module
 */

/**
 * `body` passed through unchanged; `sent` is called once its last chunk
 * has been handed on (never if the stream fails or is cancelled).
 *
 * @example
 * ```ts
 * const body = whenSent(file.readable, () => console.log("body sent"));
 * // fetch(url, { method: "PUT", body, duplex: "half" })
 * ```
 */
export function whenSent(
  body: ReadableStream<Uint8Array>,
  sent: () => void,
): ReadableStream<Uint8Array> {
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({ flush: () => sent() }),
  );
}
