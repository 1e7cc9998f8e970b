/**
 * How long the agent may still promise a job, and where the broker is.
 *
 * @module
 */
import { brokerAddresses } from "../client/broker_addresses.ts";

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
 * `host:port` of each `https://` broker URL of a list (replicas), space
 * separated, as the wrapper's network rules name them; throws a TypeError
 * naming the flag otherwise.
 */
export function brokerHostPort(url: string): string {
  // Every replica in the list: the wrapper may fail over to any of them.
  return brokerAddresses(url);
}
