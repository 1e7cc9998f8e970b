/**
 * Payloads of the relay's JSON frames (docs/ARCHITECTURE.md, "The relay"):
 * the wrapper's broker calls as request/response pairs on the pipe. Bodies
 * travel separately, as `RelayBody` frames paced by `RelayCredit` frames
 * (`src/pipe/relay_frames.ts`).
 *
 * @module
 */

/** Header list as `[name, value]` pairs (names lower-case). */
export type RelayHeaders = [string, string][];

/** `RelayRequest`, wrapper → agent: one broker call. */
export interface RelayRequestMessage {
  /** Call number, chosen by the wrapper, unique among its open calls. */
  id: number;
  /** HTTP method, e.g. `"POST"`. */
  method: string;
  /** Path and query below the broker's base URL, e.g. `/api/v1/jobs/7/status`. */
  path: string;
  /** Request headers the broker should see. */
  headers: RelayHeaders;
  /** Whether `RelayBody` frames with this `id` follow (the request body). */
  body: boolean;
}

/**
 * `RelayResponse`, agent → wrapper: the broker's answer head, or the
 * agent's refusal. With `error` set there is no body: `status` is the
 * HTTP status to report (403 refused, 413 too large, 429 too many), or 0
 * when the broker could not be reached at all (the wrapper's client
 * then treats it as a network failure and may retry).
 */
export interface RelayResponseMessage {
  /** The call's `id`. */
  id: number;
  /** HTTP status, or 0 for "broker unreachable". */
  status: number;
  /** Response headers (absent on an error). */
  headers?: RelayHeaders;
  /** Whether `RelayBody` frames with this `id` follow (the response body). */
  body?: boolean;
  /** Machine-readable reason of an agent-side refusal, e.g. `relay_refused`. */
  reason?: string;
  /** One line saying why, for the job's log and trace. */
  error?: string;
}

/**
 * `RelayCancel`, either way: the sender gave the call up (the wrapper's
 * timeout or abort, the agent's pipe or broker failure); the other side
 * drops its streams for `id`.
 */
export interface RelayCancelMessage {
  /** The call's `id`. */
  id: number;
  /** Why, for logs. */
  message: string;
}
