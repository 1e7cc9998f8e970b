/**
 * JAliEn job states and the transitions the broker allows (see
 * docs/ARCHITECTURE.md, "Job states"). The broker's store, its handler,
 * the agent and the CLI all take their state words from here.
 *
 * @module
 */

/** Every job state. */
export const JOB_STATES = [
  "WAITING",
  "ASSIGNED",
  "STARTED",
  "RUNNING",
  "SAVING",
  "DONE",
  "DONE_WARN",
  "ERROR_A",
  "ERROR_IB",
  "ERROR_E",
  "ERROR_V",
  "ERROR_VN",
  "ERROR_VT",
  "ERROR_S",
  "ERROR_SV",
  "KILLED",
  "EXPIRED",
  "ZOMBIE",
] as const;

/** A job state. */
export type JobState = typeof JOB_STATES[number];

/**
 * States in which a job token is alive, in the order a job passes them
 * (so an index says which of two stages is further along).
 */
export const ACTIVE_ORDER: readonly JobState[] = [
  "ASSIGNED",
  "STARTED",
  "RUNNING",
  "SAVING",
];

/** States in which a job token is alive. */
export const ACTIVE_STATES: ReadonlySet<JobState> = new Set<JobState>(
  ACTIVE_ORDER,
);

/**
 * States a job never leaves by itself (resubmission is a new attempt):
 * all but WAITING and the active ones.
 */
export const FINAL_STATES: ReadonlySet<JobState> = new Set<JobState>(
  JOB_STATES.filter((s) => s !== "WAITING" && !ACTIVE_STATES.has(s)),
);

/** Whether `state` (any text, e.g. from a frame) is an active state. */
export function isActive(state: string): boolean {
  return (ACTIVE_STATES as ReadonlySet<string>).has(state);
}

/** `states` as an SQL list literal, e.g. `('ASSIGNED', 'STARTED')`. */
export function sqlStateList(states: Iterable<JobState>): string {
  return `(${[...states].map((s) => `'${s}'`).join(", ")})`;
}

/**
 * Failures after which the broker puts the job back to WAITING by itself
 * (as it does for a preempted job, reported as WAITING), up to the
 * resubmission limit.
 */
export const RESUBMITTABLE: ReadonlySet<JobState> = new Set<JobState>([
  "ERROR_A",
  "ERROR_IB",
  "ZOMBIE",
]);

/**
 * States only the broker itself sets (matching, user kills, the sweeper);
 * agents and wrappers may not report them.
 */
export const BROKER_ONLY_STATES: ReadonlySet<JobState> = new Set<JobState>([
  "ASSIGNED",
  "KILLED",
  "EXPIRED",
  "ZOMBIE",
]);

const ACTIVE_EXITS: JobState[] = ["KILLED", "ZOMBIE", "WAITING"];

/** Allowed `from → to` moves; WAITING as a target means resubmission. */
export const TRANSITIONS: Readonly<Record<JobState, readonly JobState[]>> = {
  WAITING: ["ASSIGNED", "KILLED", "EXPIRED"],
  ASSIGNED: ["STARTED", "ERROR_A", ...ACTIVE_EXITS],
  STARTED: ["RUNNING", "ERROR_IB", "ERROR_A", "ERROR_E", ...ACTIVE_EXITS],
  RUNNING: [
    "SAVING",
    "ERROR_E",
    "ERROR_V",
    "ERROR_VN",
    "ERROR_VT",
    ...ACTIVE_EXITS,
  ],
  SAVING: [
    "DONE",
    "DONE_WARN",
    "ERROR_S",
    "ERROR_SV",
    "ERROR_E",
    ...ACTIVE_EXITS,
  ],
  DONE: [],
  DONE_WARN: [],
  ERROR_A: ["WAITING"],
  ERROR_IB: ["WAITING"],
  ERROR_E: ["WAITING"],
  ERROR_V: ["WAITING"],
  ERROR_VN: ["WAITING"],
  ERROR_VT: ["WAITING"],
  ERROR_S: ["WAITING"],
  ERROR_SV: ["WAITING"],
  // As in JAliEn, a user may resubmit a job they killed (a new attempt
  // with a new job token); nothing else moves a KILLED job.
  KILLED: ["WAITING"],
  EXPIRED: ["WAITING"],
  ZOMBIE: ["WAITING"],
};

/** Whether `value` names a job state. */
export function isJobState(value: unknown): value is JobState {
  return typeof value === "string" &&
    (JOB_STATES as readonly string[]).includes(value);
}

/** Whether the broker allows `from → to`. */
export function canTransition(from: JobState, to: JobState): boolean {
  return TRANSITIONS[from].includes(to);
}
