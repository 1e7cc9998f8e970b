/**
 * A job as the broker hands it to an agent at match time, and the stop
 * request the agent passes to a running job when it must end it.
 *
 * @module
 */
import type { CancelMessage } from "../protocol/mod.ts";
import type { TokenPem } from "../protocol/token_pem.ts";

/** A job as the broker handed it to us. */
export interface MatchedJob {
  /** Job ID. */
  jobId: string;
  /** JDL text. */
  jdl: string;
  /** Owner. */
  user: string;
  /** TTL, s. */
  ttl: number;
  /** Resubmission count. */
  resubmission: number;
  /** Job token PEMs. */
  token: TokenPem;
}

/**
 * Why the agent stops a job, with the whole time budget for it: the
 * wrapper gets 60% of `graceMs` after `cancel`, the tree SIGTERM then and
 * SIGKILL at 80%, so everything is over within `graceMs`.
 */
export type StopRequest = CancelMessage;
