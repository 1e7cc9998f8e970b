/**
 * Kill reasons: why the agent (or the broker, for a user's kill) stopped a
 * job. The same numbers travel in `Cancel` and `End` frames, in status
 * reports to the broker and in the job's trace, so they live here once.
 *
 * @module
 */

/**
 * Why a job was killed: JAliEn's codes, plus one of ours.
 *
 * - `TTL` 20: ran past its time to live.
 * - `USER` 30: killed by its owner.
 * - `MEMORY_PREEMPTION` 40: memory reclaimed for other jobs in the slot.
 * - `LOW_CPU` 50: CPU efficiency below the limit.
 * - `CORE_FILE` 60: the payload dumped core.
 * - `DISK` 70: the sandbox outgrew its disk limit.
 * - `MEMORY` 80: over its memory limit.
 * - `PREEMPTED` 90 (splitpilot's, not JAliEn's): the batch slot is being
 *   reclaimed, so the pilot stops the job through no fault of the job's; it
 *   is resubmitted rather than counted as failed.
 */
export const KillReason = {
  TTL: 20,
  USER: 30,
  MEMORY_PREEMPTION: 40,
  LOW_CPU: 50,
  CORE_FILE: 60,
  DISK: 70,
  MEMORY: 80,
  PREEMPTED: 90,
} as const;

/** One of the {@linkcode KillReason} codes. */
export type KillReason = typeof KillReason[keyof typeof KillReason];
