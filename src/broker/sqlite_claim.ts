/**
 * Matching in the SQLite task queue. A claim first finds the classes the
 * slot admits in an in-memory copy of the (append-only) class table
 * ({@link ./_class_index.ts}); none, and it is done without a query. Then
 * one SQL query reads queue heads in fair-share order (fewest running jobs
 * first, then least recently served, then priority, then age) and the
 * first acceptable head wins: over the heads of the admitted classes when
 * they are few, else walking the users in that order with the class test
 * in SQL, which stops early because big slots admit most heads. Only heads
 * of residual classes go back to JavaScript for `Requirements`, once per
 * class.
 *
 * @module
 */
import { ClassIndex, type ClassInfo, type IndexSlot } from "./_class_index.ts";
import type { ClaimOptions, JobRecord, SlotOffer } from "./store.ts";
import type { SqliteConnection } from "./sqlite_connection.ts";
import { type Row, type SqlValue, toJob } from "./store_rows.ts";
import { rebuildDerived } from "./sqlite_schema.ts";
import { jobRow, moveJob } from "./sqlite_transitions.ts";
import { findKey, matchScope, recordKey } from "./idempotency.ts";

// Fair share in one query, read in index order so it stops at the first
// head the slot admits: users by fewest running jobs, then least recently
// served (round robin); within a user, heads by priority, then age. A class
// lists its allowed sites/CEs and needed packages in side tables keyed by
// class, so each test is a primary-key probe.
const CLAIM_SQL = `
SELECT h.class_id AS class_id, h.head_id AS head_id
FROM owners o
CROSS JOIN queue_heads h ON h.owner = o.owner
CROSS JOIN match_classes c ON c.id = h.class_id
WHERE o.running < coalesce(o.quota, :quota)
  AND c.cpu_cores <= :cores AND c.ttl <= :ttl
  AND (:memory = 0 OR c.memory <= :memory)
  AND (:disk = 0 OR c.disk <= :disk)
  AND (c.n_sites = 0 OR EXISTS (SELECT 1 FROM class_sites s
        WHERE s.class_id = c.id AND s.value = :site))
  AND (c.n_ces = 0 OR EXISTS (SELECT 1 FROM class_ces e
        WHERE e.class_id = c.id AND e.value = :ce))
  AND (c.n_packages = 0 OR c.n_packages = (SELECT count(*) FROM class_packages p
        WHERE p.class_id = c.id
          AND p.value IN (SELECT value FROM json_each(:packages))))
ORDER BY o.running, o.served_at, o.owner, h.head_priority DESC, h.head_id`;

// The same order over the heads of a few classes known to be admitted
// (chosen by the in-memory class index): cost grows with those heads only.
const CLAIM_FEW_SQL = `
SELECT h.class_id AS class_id, h.head_id AS head_id
FROM json_each(:ids) a
CROSS JOIN queue_heads h ON h.class_id = a.value
CROSS JOIN owners o ON o.owner = h.owner
WHERE o.running < coalesce(o.quota, :quota)
ORDER BY o.running, o.served_at, o.owner, h.head_priority DESC, h.head_id`;

const SIDE_TABLES = [
  ["class_sites", "sites"],
  ["class_ces", "ces"],
  ["class_packages", "packages"],
] as const;

/** A slot as the class index and the claim SQL filter it. */
function indexSlot(slot: SlotOffer): IndexSlot {
  return {
    cpuCores: Math.ceil(slot.cpuCores),
    ttl: Math.ceil(slot.ttl),
    memory: Math.ceil(slot.memory),
    disk: Math.ceil(slot.disk),
    site: slot.site?.toLowerCase() ?? null,
    ce: slot.ce?.toLowerCase() ?? null,
    packages: (slot.packages ?? []).map((p) => p.toLowerCase()),
  };
}

/** Claims and counts waiting jobs for slots. */
export class SqliteMatcher {
  #conn: SqliteConnection;
  #index = new ClassIndex();
  #fewClasses: number;

  /**
   * Matches through `conn`; at most `fewClasses` admitted classes are
   * looked at head by head.
   */
  constructor(conn: SqliteConnection, fewClasses: number) {
    this.#conn = conn;
    this.#fewClasses = fewClasses;
  }

  /**
   * Hands the agent the best waiting job its slot fits: SQL on the match
   * keys, `accept` only for residual classes, fair share by running jobs.
   */
  claim(
    slot: SlotOffer,
    agent: { fingerprint: string; subject: string },
    accept: (job: JobRecord) => boolean,
    opts: ClaimOptions = {},
  ): Promise<JobRecord | undefined> {
    const conn = this.#conn;
    const quota = opts.userQuota ?? Infinity;
    const filter = indexSlot(slot);
    const packages = filter.packages;
    const quotaParam = Number.isFinite(quota)
      ? Math.max(0, Math.floor(quota))
      : Number.MAX_SAFE_INTEGER;
    const key = opts.requestKey;
    const scope = matchScope(agent.fingerprint);
    return conn.write(() => {
      const now = Date.now();
      if (key !== undefined) {
        const known = findKey(conn.db, scope, key, now);
        if (known !== undefined) {
          const r = jobRow(conn, known);
          return r && r.state === "ASSIGNED" && r.agent === agent.fingerprint
            ? toJob(r)
            : undefined;
        }
      }
      this.#refreshIndex();
      const admitted = this.#index.admitted(filter, this.#fewClasses);
      // No class fits: nothing to look at (an idle pilot's poll is cheap).
      if (admitted.length === 0) return undefined;
      const query: { sql: string; params: Record<string, SqlValue> } =
        admitted.length <= this.#fewClasses
          ? {
            sql: CLAIM_FEW_SQL,
            params: { ids: JSON.stringify(admitted), quota: quotaParam },
          }
          : {
            sql: CLAIM_SQL,
            params: {
              cores: filter.cpuCores,
              ttl: filter.ttl,
              memory: filter.memory,
              disk: filter.disk,
              site: filter.site,
              ce: filter.ce,
              packages: JSON.stringify(packages),
              quota: quotaParam,
            },
          };
      const refused = new Set<number>();
      // Each round hands out a job, or expires one and looks again.
      for (let round = 0; round < 100_000; round++) {
        const pick = this.#pick(query, refused, accept, now);
        if (pick === undefined) return undefined;
        if (pick.expired) {
          moveJob(conn, pick.row, "EXPIRED", {
            actor: "broker",
            reason: "waited longer than its maximum waiting time",
          }, now);
          continue;
        }
        moveJob(
          conn,
          pick.row,
          "ASSIGNED",
          {
            actor: `JOB_AGENT:${agent.subject}`,
            reason: `matched by ${agent.subject}`,
          },
          now,
          { agent },
        );
        const id = Number(pick.row.id);
        if (key !== undefined) recordKey(conn.db, scope, key, id, now);
        return toJob(jobRow(conn, id)!);
      }
      throw new Error("claim did not converge");
    });
  }

  /**
   * How many waiting jobs `slot` could run: the match classes its keys
   * admit, summed from the queue heads (residual requirements not
   * evaluated, so an upper bound).
   */
  countWaiting(slot: SlotOffer): Promise<number> {
    return this.#conn.read(() => {
      this.#refreshIndex();
      const ids = this.#index.admitted(indexSlot(slot));
      if (ids.length === 0) return 0;
      const row = this.#conn.q(
        `SELECT coalesce(sum(waiting), 0) AS n FROM queue_heads
         WHERE class_id IN (SELECT value FROM json_each(?))`,
      ).get(JSON.stringify(ids)) as Row;
      return Number(row.n);
    });
  }

  /** Loads classes stored since the index last looked (by any process). */
  #refreshIndex() {
    const q = (sql: string) => this.#conn.q(sql);
    const known = this.#index.maxId;
    const max = Number(
      (q("SELECT coalesce(max(id), 0) AS m FROM match_classes").get() as Row)
        .m,
    );
    if (max <= known) return;
    const classes = new Map<number, ClassInfo>();
    for (
      const r of q(
        "SELECT * FROM match_classes WHERE id > ? ORDER BY id",
      ).all(known) as Row[]
    ) {
      classes.set(Number(r.id), {
        id: Number(r.id),
        cpuCores: Number(r.cpu_cores),
        ttl: Number(r.ttl),
        memory: Number(r.memory),
        disk: Number(r.disk),
        sites: [],
        ces: [],
        packages: [],
        residual: Number(r.residual) === 1,
      });
    }
    for (const [table, field] of SIDE_TABLES) {
      for (
        const r of q(
          `SELECT class_id, value FROM ${table} WHERE class_id > ?`,
        ).all(known) as Row[]
      ) {
        classes.get(Number(r.class_id))?.[field].push(r.value as string);
      }
    }
    this.#index.add([...classes.values()]);
  }

  /** The first admitted head in fair-share order (read-only). */
  #pick(
    query: { sql: string; params: Record<string, SqlValue> },
    refused: Set<number>,
    accept: (job: JobRecord) => boolean,
    now: number,
  ): { row: Row; expired: boolean } | undefined {
    const it = this.#conn.q(query.sql).iterate(query.params);
    try {
      for (const h of it as Iterable<Row>) {
        const classId = Number(h.class_id);
        if (refused.has(classId)) continue;
        const row = jobRow(this.#conn, Number(h.head_id));
        if (!row || row.state !== "WAITING") {
          // Out of step (a bug, or a hand-edited database): heal, look again.
          it.return?.();
          rebuildDerived(this.#conn);
          return this.#pick(query, refused, accept, now);
        }
        if (row.expires_at !== null && Number(row.expires_at) <= now) {
          return { row, expired: true };
        }
        if (this.#index.get(classId)?.residual && !accept(toJob(row))) {
          refused.add(classId);
          continue;
        }
        return { row, expired: false };
      }
      return undefined;
    } finally {
      // Ends the statement before the caller writes.
      (it as IterableIterator<Row>).return?.();
    }
  }
}
