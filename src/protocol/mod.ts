/**
 * The words the broker, the agent and the wrapper share: job states and
 * their transitions, kill reasons, resource usage, the PEM shape of a
 * token, the payloads of the pipe's control frames and the programs a job
 * may run. Every process imports them from here, so a state or a reason
 * code is declared once. See docs/ARCHITECTURE.md.
 *
 * @example
 * ```ts
 * import { canTransition, isActive, KillReason } from "./mod.ts";
 *
 * canTransition("RUNNING", "SAVING"); // true
 * isActive("DONE"); // false
 * KillReason.USER; // 30
 * ```
 *
 * @module
 */
export * from "./job_state.ts";
export * from "./kill_reason.ts";
export * from "./usage.ts";
export * from "./token_pem.ts";
export * from "./messages.ts";
export * from "./programs.ts";
