/**
 * The file catalogue in the SQLite task queue: LFN → blob (size,
 * SHA-256), owner and the job that wrote it. Each function runs inside
 * the caller's read or write.
 *
 * @module
 */
import type { FileRecord } from "./store.ts";
import type { SqliteConnection } from "./sqlite_connection.ts";
import { type Row, toFile } from "./store_rows.ts";

/** Adds or replaces one catalogue entry. */
export function putFile(conn: SqliteConnection, file: FileRecord): void {
  conn.q(
    `INSERT INTO files (lfn, owner, job_id, size, sha256, created_at)
     VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (lfn) DO UPDATE SET owner = excluded.owner,
       job_id = excluded.job_id, size = excluded.size,
       sha256 = excluded.sha256, created_at = excluded.created_at`,
  ).run(
    file.lfn,
    file.owner,
    file.jobId === undefined ? null : Number(file.jobId),
    file.size,
    file.sha256,
    file.createdAt,
  );
}

/** The catalogue entry of `lfn`, if any. */
export function getFile(
  conn: SqliteConnection,
  lfn: string,
): FileRecord | undefined {
  const r = conn.q("SELECT * FROM files WHERE lfn = ?").get(lfn) as
    | Row
    | undefined;
  return r ? toFile(r) : undefined;
}

/** Catalogue entries whose LFN starts with `prefix`, sorted, one page. */
export function listFiles(
  conn: SqliteConnection,
  prefix: string,
  page: { after?: string; limit?: number },
): FileRecord[] {
  const rows = conn.q(
    `SELECT * FROM files WHERE substr(lfn, 1, ?) = ? AND lfn > ?
     ORDER BY lfn LIMIT ?`,
  ).all(prefix.length, prefix, page.after ?? "", page.limit ?? -1) as Row[];
  return rows.map(toFile);
}

/** Removes a file's name; false when there was none. */
export function deleteFile(conn: SqliteConnection, lfn: string): boolean {
  return Number(conn.q("DELETE FROM files WHERE lfn = ?").run(lfn).changes) ===
    1;
}
