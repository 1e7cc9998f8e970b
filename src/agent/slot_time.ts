/**
 * How long the agent may still promise a job, and where the broker is.
 *
 * @module
 */

/**
 * Seconds the agent may still promise a job: the slot's end and the agent
 * token's `notAfter` (less the margin: heartbeats need a valid token), less
 * the margin.
 *
 * @example
 * ```ts
 * const now = 0;
 * timeLeftSeconds(now, 3600_000, 7200_000, 60); // 3540: the slot ends first
 * ```
 */
export function timeLeftSeconds(
  now: number,
  slotDeadline: number,
  tokenNotAfter: number,
  marginSeconds: number,
): number {
  const slot = (slotDeadline - now) / 1000;
  const token = (tokenNotAfter - now) / 1000 - marginSeconds;
  return Math.floor(Math.min(slot, token) - marginSeconds);
}

/**
 * `host:port` of an `https://` broker URL, as the wrapper's network
 * rules name it; throws a TypeError naming the flag otherwise.
 */
export function brokerHostPort(url: string): string {
  const u = new URL(url);
  if (u.protocol !== "https:") {
    throw new TypeError(`--broker ${url}: expected an https:// URL`);
  }
  return `${u.hostname}:${u.port || "443"}`;
}
