/**
 * Grid roles carried in a token's DN, and the key algorithms tokens use.
 *
 * @module
 */

/**
 * A grid role, the `OU` of a token's DN:
 * `USER` (CLI users), `JOB_AGENT` (pilots), `JOB` (one job's wrapper),
 * `HOST` (the broker's TLS server certificate).
 */
export type Role = "USER" | "JOB_AGENT" | "JOB" | "HOST";

/** All roles. */
export const ROLES: readonly Role[] = Object.freeze(
  [
    "USER",
    "JOB_AGENT",
    "JOB",
    "HOST",
  ] as const,
);

/** Key algorithm of a CA or token key pair. */
export type KeyAlgorithm = "ecdsa-p256" | "rsa-2048" | "rsa-3072";
