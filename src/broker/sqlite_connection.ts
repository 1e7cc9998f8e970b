/**
 * The SQLite task queue's connection: prepared statements, transactions,
 * and durability. Every write resolves only once the WAL is on disk. The
 * default `"group"` mode gets there with group commit: transactions commit
 * with `synchronous=NORMAL` and their promises wait for one `fdatasync` of
 * the WAL that started after them, run off the event loop; writes that
 * arrive while a sync runs share the next one. Checkpoints run in a worker
 * thread on their own connection ({@link ./_checkpointer.ts}).
 *
 * @module
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { type Checkpointer, startCheckpointer } from "./_checkpointer.ts";

/**
 * How writes reach the disk: `"group"` (NORMAL commits + shared WAL
 * fdatasync before a write resolves), `"full"` (`synchronous=FULL`, one
 * sync inside each commit), `"normal"` (`synchronous=NORMAL` alone:
 * survives a crash of the process, not of the machine).
 */
export type Durability = "group" | "full" | "normal";

/** Options of {@link SqliteConnection}. */
export interface ConnectionOptions {
  /** See {@link Durability}. @default "group" */
  durability?: Durability;
  /** Ms between worker checkpoints; 0 = SQLite's inline ones. @default 250 */
  checkpointIntervalMs?: number;
}

/** WAL pages after which the writer checkpoints itself (worker fallback). */
const FALLBACK_CHECKPOINT_PAGES = 50_000;

/** One open database with cached statements and durable writes. */
export class SqliteConnection {
  /** The database (for modules that keep their own tables). */
  readonly db: DatabaseSync;
  /** Called when a write transaction rolled back (caches to forget). */
  onRollback: () => void = () => {};
  #stmts = new Map<string, StatementSync>();
  #wal: string | undefined;
  #walFile: Deno.FsFile | undefined;
  #checkpointer: Checkpointer | undefined;
  #syncing: Promise<void> | undefined;
  #nextSync: Promise<void> | undefined;

  /**
   * Opens (and creates) the database at `path`; `setup` (schema) runs
   * before the checkpointer starts, and a failure closes the database.
   */
  constructor(
    path: string,
    opts: ConnectionOptions,
    setup: (conn: SqliteConnection) => void,
  ) {
    const durability = opts.durability ?? "group";
    this.db = new DatabaseSync(path);
    try {
      this.db.exec("PRAGMA busy_timeout=5000");
      this.db.exec("PRAGMA journal_mode=WAL");
      this.db.exec(
        `PRAGMA synchronous=${durability === "full" ? "FULL" : "NORMAL"}`,
      );
      setup(this);
    } catch (e) {
      this.db.close();
      throw e;
    }
    const memory = path === ":memory:" || path === "";
    if (durability === "group" && !memory) this.#wal = `${path}-wal`;
    const interval = opts.checkpointIntervalMs ?? 250;
    if (interval > 0 && !memory) {
      this.db.exec(`PRAGMA wal_autocheckpoint=${FALLBACK_CHECKPOINT_PAGES}`);
      this.#checkpointer = startCheckpointer(path, interval, () => {
        // Back to SQLite's own checkpoints in the writer.
        this.db.exec("PRAGMA wal_autocheckpoint=1000");
      });
    }
  }

  /** The prepared statement for `sql` (prepared once). */
  q(sql: string): StatementSync {
    let s = this.#stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.#stmts.set(sql, s);
    }
    return s;
  }

  /** Runs `fn` in an immediate transaction (synchronously). */
  tx<T>(fn: () => T): T {
    this.db.exec("BEGIN IMMEDIATE");
    try {
      const out = fn();
      this.db.exec("COMMIT");
      return out;
    } catch (e) {
      if (this.db.isTransaction) this.db.exec("ROLLBACK");
      throw e;
    }
  }

  /** Runs a read as a promise (errors reject rather than throw). */
  read<T>(fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Runs `fn` in a write transaction; resolves when it is durable. */
  async write<T>(fn: () => T): Promise<T> {
    let out: T;
    try {
      out = this.tx(fn);
    } catch (e) {
      this.onRollback();
      throw e;
    }
    await this.durable();
    return out;
  }

  /**
   * Resolves once an fdatasync of the WAL that started after the caller's
   * commit has finished.
   */
  durable(): Promise<void> {
    if (this.#wal === undefined) return Promise.resolve();
    // A sync that has not started yet covers every commit before it.
    if (this.#nextSync) return this.#nextSync;
    if (!this.#syncing) return this.#startSync();
    const after = () => {
      this.#nextSync = undefined;
      return this.#startSync();
    };
    this.#nextSync = this.#syncing.then(after, after);
    return this.#nextSync;
  }

  #startSync(): Promise<void> {
    const p = this.#syncWal().finally(() => {
      if (this.#syncing === p) this.#syncing = undefined;
    });
    this.#syncing = p;
    return p;
  }

  async #syncWal(): Promise<void> {
    // SQLite removes the WAL only when its last connection closes, and
    // ours is open: the file (truncated or not) stays the same inode.
    this.#walFile ??= await Deno.open(this.#wal!, { read: true, write: true });
    await this.#walFile.syncData();
  }

  /** Stops the checkpointer, waits for pending syncs, closes. */
  async close(): Promise<void> {
    await this.#checkpointer?.stop();
    this.#checkpointer = undefined;
    await this.#syncing?.catch(() => {});
    await this.#nextSync?.catch(() => {});
    this.#walFile?.close();
    this.#walFile = undefined;
    this.db.close();
  }
}
