/**
 * Recognizes a request whose client went away in the middle of its body
 * (connection reset, aborted stream). That is the client's business, not
 * a broker fault: it gets no stack trace in the broker's log.
 *
 * @module
 */

const ABORT_CODES = new Set([
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ERR_STREAM_PREMATURE_CLOSE",
]);

/** Whether `e` (or its cause) says the client dropped the connection. */
export function isClientAbort(e: unknown): boolean {
  for (let x = e, depth = 0; x && depth < 4; depth++) {
    const err = x as { code?: unknown; name?: unknown; message?: unknown };
    if (typeof err.code === "string" && ABORT_CODES.has(err.code)) return true;
    if (err.name === "AbortError") return true;
    if (
      typeof err.message === "string" &&
      /\b(ECONNRESET|aborted|premature close|connection reset)\b/i.test(
        err.message,
      )
    ) return true;
    x = (x as { cause?: unknown }).cause;
  }
  return false;
}
