/**
 * Picks the task queue a broker runs on: the embedded SQLite file in its
 * state dir (the default), or a PostgreSQL database shared with other
 * broker replicas (`broker serve --db postgres://…`, or `SPLITPILOT_DB`).
 *
 * @module
 */
import type { JobStore } from "./store.ts";
import { SqliteJobStore } from "./store_sqlite.ts";
import { isPostgresUrl, redactUrl } from "./database_url.ts";

/**
 * Opens the queue named by `db`: a `postgres://` URL, else an SQLite file
 * path; absent = `STATE/jobs.db`.
 *
 * @example
 * ```ts ignore
 * const store = await openStore("/srv/broker", "postgres://broker@db/splitpilot");
 * ```
 */
export async function openStore(
  stateDir: string,
  db: string | undefined,
): Promise<JobStore> {
  if (db !== undefined && isPostgresUrl(db)) {
    try {
      // Loaded only here: a broker on SQLite needs no npm package at all.
      const { PostgresJobStore } = await import("./store_postgres.ts");
      return await PostgresJobStore.open(db);
    } catch (e) {
      throw new Error(
        `cannot open the task queue ${redactUrl(db)}: ${(e as Error).message}`,
      );
    }
  }
  return new SqliteJobStore(db ?? `${stateDir}/jobs.db`);
}
