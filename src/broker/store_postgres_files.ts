/**
 * The file catalogue (LFN → blob) of the PostgreSQL task queue.
 *
 * @module
 */
import type { FileRecord } from "./store.ts";
import { toFile } from "./store_rows.ts";
import type { Sql } from "./store_postgres_sql.ts";

/** Adds or replaces one catalogue entry. */
export async function putFile(sql: Sql, file: FileRecord): Promise<void> {
  const jobId = file.jobId === undefined ? null : Number(file.jobId);
  await sql`
      INSERT INTO files (lfn, owner, job_id, size, sha256, created_at)
      VALUES (${file.lfn}, ${file.owner}, ${jobId}::int8, ${file.size},
        ${file.sha256}, ${file.createdAt})
      ON CONFLICT (lfn) DO UPDATE SET owner = excluded.owner,
        job_id = excluded.job_id, size = excluded.size,
        sha256 = excluded.sha256, created_at = excluded.created_at`;
}

/** The catalogue entry of `lfn`, if any. */
export async function getFile(
  sql: Sql,
  lfn: string,
): Promise<FileRecord | undefined> {
  const [r] = await sql`SELECT * FROM files WHERE lfn = ${lfn}`;
  return r ? toFile(r) : undefined;
}

/** Catalogue entries whose LFN starts with `prefix`, sorted, one page. */
export async function listFiles(
  sql: Sql,
  prefix: string,
  page: { after?: string; limit?: number } = {},
): Promise<FileRecord[]> {
  const limit = page.limit ?? null;
  const rows = await sql`SELECT * FROM files
      WHERE left(lfn, ${prefix.length}) = ${prefix} AND lfn > ${
    page.after ?? ""
  }
      ORDER BY lfn LIMIT ${limit}::int8`;
  return rows.map(toFile);
}

/** Removes a file's name; false when there was none. */
export async function deleteFile(sql: Sql, lfn: string): Promise<boolean> {
  const r = await sql`DELETE FROM files WHERE lfn = ${lfn}`;
  return r.count === 1;
}
