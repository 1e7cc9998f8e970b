/**
 * Match classes of the PostgreSQL task queue: inserting new ones (in ID
 * order across replicas) and each replica's in-memory copy of them.
 *
 * @module
 */
import { ClassIndex, type ClassInfo, type IndexSlot } from "./_class_index.ts";
import type { NewJob, SlotOffer } from "./store.ts";
import { CLASS_LOCK } from "./store_postgres_schema.ts";
import type { Sql, Tx } from "./store_postgres_sql.ts";

/** A slot as the class index filters it. */
export function indexSlot(slot: SlotOffer): IndexSlot {
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

const uniq = (xs: string[]) => [...new Set(xs.map((x) => x.toLowerCase()))];

/** One replica's view of the class table. */
export class PostgresClasses {
  /** Classes known so far. */
  readonly index: ClassIndex = new ClassIndex();
  #ids = new Map<string, number>();

  /** Forgets cached class IDs (after a rolled-back transaction). */
  forget(): void {
    this.#ids.clear();
  }

  /** The ID of `job`'s class, inserted if new (inside `tx`). */
  async classId(tx: Tx, job: NewJob): Promise<number> {
    const known = this.#ids.get(job.matchClass);
    if (known !== undefined) return known;
    let [found] = await tx`SELECT id FROM match_classes
      WHERE key = ${job.matchClass}`;
    if (!found) {
      // Held to commit: class IDs become visible in ID order.
      await tx`SELECT pg_advisory_xact_lock(${CLASS_LOCK.toString()}::int8)`;
      const k = job.keys;
      [found] = await tx`
        INSERT INTO match_classes (key, cpu_cores, ttl, memory, disk, sites,
          ces, packages, residual)
        VALUES (${job.matchClass}, ${k.cpuCores}, ${k.ttl}, ${k.memory},
          ${k.disk}, ${uniq(k.sites)}::text[], ${uniq(k.ces)}::text[],
          ${uniq(k.packages)}::text[], ${k.residual})
        ON CONFLICT (key) DO UPDATE SET key = excluded.key
        RETURNING id`;
      // Not cached: this transaction may still roll back.
      return Number(found.id);
    }
    const id = Number(found.id);
    this.#ids.set(job.matchClass, id);
    return id;
  }

  /** Loads classes committed since the index last looked (by any replica). */
  async refresh(sql: Sql | Tx): Promise<void> {
    const rows = await sql`SELECT * FROM match_classes
      WHERE id > ${this.index.maxId} ORDER BY id`;
    if (rows.length === 0) return;
    this.index.add(rows.map((r): ClassInfo => ({
      id: Number(r.id),
      cpuCores: Number(r.cpu_cores),
      ttl: Number(r.ttl),
      memory: Number(r.memory),
      disk: Number(r.disk),
      sites: r.sites as string[],
      ces: r.ces as string[],
      packages: r.packages as string[],
      residual: r.residual as boolean,
    })));
  }
}
