/**
 * Which broker requests a client may send again after a connection
 * failure (the request may or may not have been committed).
 *
 * - reads (`GET`, `HEAD`): always;
 * - requests carrying an `Idempotency-Key` (submit, match): the broker
 *   answers a repeat with the first request's job;
 * - status reports and heartbeats: the broker answers a report of the
 *   state a job is already in as done, so a repeat changes nothing;
 * - a `PUT` of a file from memory: it replaces the same LFN with the
 *   same bytes;
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
  if (m === "GET" || m === "HEAD") return true;
  if (headers.has("idempotency-key")) return true;
  if (m === "POST" && /^\/api\/v1\/jobs\/\d+\/(status|heartbeat)$/.test(path)) {
    return true;
  }
  return false;
}
