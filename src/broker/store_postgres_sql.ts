/**
 * The PostgreSQL driver, in one place: npm `postgres` (porsager).
 *
 * Why this one and not `pg`: it is pure JavaScript with no dependencies
 * (`pg` pulls in pg-pool, pg-types, pgpass, … and an optional native
 * binding), runs unchanged under Deno through an `npm:` specifier, and its
 * tagged templates make every value a bound parameter, so SQL injection
 * cannot be written by accident. It pipelines queries on its pooled
 * connections and has `begin` (transactions) and `reserve` (a connection
 * of one's own, which the sweeper's session-level advisory lock needs).
 *
 * @module
 */
import postgres from "postgres";

/** A connection pool (or a transaction inside one). */
export type Sql = postgres.Sql;
/** A transaction's query function. */
export type Tx = postgres.TransactionSql;
/** A connection reserved for one user. */
export type ReservedSql = postgres.ReservedSql;

/** Options of {@link connect}. */
export interface ConnectOptions {
  /** Pool size. @default 10 */
  max?: number;
}

/**
 * Opens a pool on `url` (`postgres://user@host:port/db`). Connections are
 * made lazily; the first query reports a bad URL or an unreachable server.
 */
export function connect(url: string, opts: ConnectOptions = {}): Sql {
  // The driver would ask the OS for the login name (a permission the
  // broker lacks): the URL or PGUSER names the database user.
  const user = new URL(url).username || Deno.env.get("PGUSER");
  if (!user) {
    throw new TypeError(
      "the database URL names no user: postgres://USER@HOST:PORT/DATABASE",
    );
  }
  return postgres(url, {
    user: decodeURIComponent(user),
    max: opts.max ?? 10,
    onnotice: () => {},
    // Times are ms since the epoch in BIGINT columns: keep them numbers.
    types: {
      bigint: {
        to: 20,
        from: [20],
        serialize: (x: unknown) => String(x),
        parse: (x: string) => Number(x),
      },
    },
    connection: {
      application_name: "splitpilot-broker",
      // The claim's plan depends on its arrays of admitted classes; a
      // generic plan (chosen after five runs) would scan whole queues.
      plan_cache_mode: "force_custom_plan",
    },
  });
}

/** Whether `e` is a serialization failure or deadlock (retry the tx). */
export function retryable(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === "40001" || code === "40P01";
}

/** Whether `e` is a unique violation. */
export function uniqueViolation(e: unknown): boolean {
  return (e as { code?: string }).code === "23505";
}
