/**
 * Resource usage of a job: what the agent's watchdog measures, what
 * heartbeats and final reports carry to the broker, and what the broker
 * keeps for accounting.
 *
 * @module
 */

/** Resource usage as reported by heartbeats and kept for accounting. */
export interface Usage {
  /** CPU seconds of the whole process tree. */
  cpuSeconds: number;
  /** Resident set size in bytes (PSS where available). */
  rssBytes: number;
  /** Maximum RSS/PSS seen, bytes. */
  maxRssBytes?: number;
  /** Wall-clock seconds since the wrapper started. */
  wallSeconds: number;
  /** Sandbox size in bytes. */
  diskBytes: number;
}
