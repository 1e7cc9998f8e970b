/**
 * Request keys (idempotent submit and match, see `./idempotency.ts`) in
 * the PostgreSQL task queue, inside the caller's transaction.
 *
 * @module
 */
import { KEY_TTL_MS } from "./idempotency.ts";
import type { Tx } from "./store_postgres_sql.ts";

let inserts = 0;

/** The job a remembered key names, if any. */
export async function findKey(
  tx: Tx,
  scope: string,
  key: string,
  now: number,
): Promise<number | undefined> {
  const [r] = await tx`SELECT job_id FROM request_keys
      WHERE scope = ${scope} AND key = ${key} AND at > ${now - KEY_TTL_MS}`;
  return r === undefined ? undefined : Number(r.job_id);
}

/** Remembers `key` → `id`; now and then forgets expired keys. */
export async function recordKey(
  tx: Tx,
  scope: string,
  key: string,
  id: number,
  now: number,
): Promise<void> {
  await tx`INSERT INTO request_keys (scope, key, job_id, at)
      VALUES (${scope}, ${key}, ${id}, ${now})
      ON CONFLICT (scope, key) DO UPDATE SET job_id = excluded.job_id,
        at = excluded.at`;
  if (++inserts % 1000 === 1) {
    await tx`DELETE FROM request_keys WHERE at <= ${now - KEY_TTL_MS}`;
  }
}
