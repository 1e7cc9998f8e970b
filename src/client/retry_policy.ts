/**
 * Which broker requests a client may send again after a connection
 * failure (the request may or may not have been committed).
 *
 * - reads (`GET`, `HEAD`): always;
 * - requests carrying an `Idempotency-Key` (submit, match): the broker
 *   answers a repeat with the first request's job;
 * - status reports and heartbeats: the broker answers a report of the
 *   state a job is already in as done, so a repeat changes nothing;
 * - batches of those (`src/broker/batch.ts`), whose steps are each safe
 *   to repeat (a live-log step may show its lines twice: that log is a
 *   view, the uploaded files are the record);
 * - `PUT` (a file from memory, a factory's pilot report): it replaces
 *   the same object with the same content (streamed uploads opt out);
 * - a factory's demand query: it changes nothing;
 * - everything else (kill, resubmit, …): once. The caller sees the error
 *   and decides.
 *
 * @module
 */

/** Whether a request may be retried automatically. */
export function retrySafe(
  method: string,
  path: string,
  headers: Headers,
): boolean {
  const m = method.toUpperCase();
  // PUT replaces (a file from memory, a factory's pilot list) with the
  // same content.
  if (m === "GET" || m === "HEAD" || m === "PUT") return true;
  if (headers.has("idempotency-key")) return true;
  if (
    m === "POST" &&
    /^\/api\/v1\/jobs\/\d+\/(status|heartbeat|batch)$/.test(path)
  ) {
    return true;
  }
  // A factory's demand query changes nothing.
  if (m === "POST" && /^\/api\/v1\/factory\/demand(\?|$)/.test(path)) {
    return true;
  }
  return false;
}
