/**
 * The agent's outbox: one small JSON file per job outcome the broker has
 * not acknowledged yet, under `<workRoot>/outbox/`. It is written before
 * the first report and removed once the broker acknowledges it (or the
 * job is provably no longer ours), so an agent killed in between leaves
 * the outcome for the next agent on the same work root to report.
 *
 * @module
 */
import type { WrapperOutcome } from "./wrapper_outcome.ts";

/** One unacknowledged outcome. */
export interface OutboxEntry {
  /** Job ID. */
  jobId: string;
  /** The attempt (resubmission count at match) it belongs to. */
  attempt: number;
  /** What the agent saw. */
  outcome: WrapperOutcome;
  /** Whether the wrapper died without a final word. */
  death: boolean;
}

/** A directory of {@link OutboxEntry} files. */
export class ReportOutbox {
  /** The directory. */
  readonly dir: string;

  /** An outbox in `dir` (created on first write). */
  constructor(dir: string) {
    this.dir = dir;
  }

  #path(jobId: string, attempt: number): string {
    return `${this.dir}/job-${jobId}.${attempt}.json`;
  }

  /** Persists `e` (atomically: a torn write never looks like an entry). */
  async put(e: OutboxEntry): Promise<void> {
    await Deno.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const path = this.#path(e.jobId, e.attempt);
    await Deno.writeTextFile(`${path}.tmp`, JSON.stringify(e), {
      mode: 0o600,
    });
    await Deno.rename(`${path}.tmp`, path);
  }

  /** Forgets the entry of `jobId`/`attempt` (no error if absent). */
  async remove(jobId: string, attempt: number): Promise<void> {
    await Deno.remove(this.#path(jobId, attempt)).catch(() => {});
  }

  /**
   * Every entry left by an earlier agent. Unreadable files are removed and
   * passed to `bad`: an outbox must never stop an agent from starting.
   */
  async list(bad: (file: string, why: string) => void): Promise<OutboxEntry[]> {
    const out: OutboxEntry[] = [];
    let names: string[] = [];
    try {
      for await (const d of Deno.readDir(this.dir)) names.push(d.name);
    } catch {
      return out;
    }
    names = names.sort();
    for (const name of names) {
      const path = `${this.dir}/${name}`;
      if (!name.endsWith(".json")) {
        // An interrupted put: its entry never existed.
        await Deno.remove(path).catch(() => {});
        continue;
      }
      try {
        const e = JSON.parse(await Deno.readTextFile(path)) as OutboxEntry;
        if (
          typeof e?.jobId !== "string" || typeof e.attempt !== "number" ||
          typeof e.outcome?.state !== "string"
        ) throw new Error("not an outbox entry");
        out.push(e);
      } catch (err) {
        bad(name, (err as Error).message);
        await Deno.remove(path).catch(() => {});
      }
    }
    return out;
  }
}
