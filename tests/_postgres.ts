/**
 * The throwaway PostgreSQL cluster of `scripts/postgres_cluster.ts`, and
 * the gate of tests that need it: locally they are skipped where
 * PostgreSQL is not installed; with `CI=true` they run (and fail), since
 * `.ci/run` installs it.
 *
 * @module
 */
import { IN_CI } from "./_grid.ts";
import { postgresBin } from "../scripts/postgres_cluster.ts";

export {
  postgresBin,
  startPostgres,
  type TestPostgres,
} from "../scripts/postgres_cluster.ts";

/** `ignore` value for a test that needs PostgreSQL (never true in CI). */
export function needsPostgres(): boolean {
  return !IN_CI && postgresBin() === undefined;
}
