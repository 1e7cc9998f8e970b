/**
 * Database URLs of the task queue, without loading a driver: the CLI's
 * launcher derives the broker's network permission from `--db`.
 *
 * @module
 */

/** Whether `db` names a PostgreSQL database (else it is an SQLite path). */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db);
}

/** A database URL without its password, fit for a log line. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(malformed database URL)";
  }
}

/**
 * The `host:port` a broker with `--db URL` must be allowed to reach
 * (PostgreSQL's default port 5432); undefined for an SQLite path.
 */
export function databaseAddress(db: string | undefined): string | undefined {
  if (db === undefined || !isPostgresUrl(db)) return undefined;
  let u: URL;
  try {
    u = new URL(db);
  } catch {
    return undefined; // openStore says what is wrong with it
  }
  return u.hostname ? `${u.hostname}:${u.port || "5432"}` : undefined;
}
