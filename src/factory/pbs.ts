/**
 * PBS (OpenPBS / Torque), from its documented command line: `qsub` with
 * `-l` resources, `qstat -f -F json` (OpenPBS) to list, `qdel`. It has
 * not been run against a real server here; its argv and parsing are
 * tested.
 *
 * @example
 * ```ts
 * import { PbsBatch } from "./pbs.ts";
 * new PbsBatch().submitArgv({ script: "/srv/pilot.sh", name: "sp-pilot-CERN",
 *   cores: 8, ttlSeconds: 86400, logDir: "/srv/log" });
 * // ["qsub", "-N", "sp-pilot-CERN", "-l", "select=1:ncpus=8", "-l", "walltime=24:00:00", …]
 * ```
 *
 * @module
 */
import {
  type BatchSystem,
  type PilotRequest,
  type PilotState,
  type PilotStatus,
  runBatchCommand,
} from "./batch_system.ts";

/** PBS's one-letter job states. */
const STATES: Record<string, PilotState> = {
  Q: "queued",
  H: "queued",
  W: "queued",
  T: "queued",
  S: "queued",
  R: "running",
  E: "running",
  B: "running",
  F: "finished",
  X: "finished",
};

function walltime(seconds: number): string {
  const s = Math.max(60, Math.ceil(seconds));
  const p = (n: number) => String(n).padStart(2, "0");
  return `${p(Math.floor(s / 3600))}:${p(Math.floor(s / 60) % 60)}:${
    p(s % 60)
  }`;
}

/** See the module doc. */
export class PbsBatch implements BatchSystem {
  /** @inheritdoc */
  readonly name = "pbs";
  #queue?: string;

  /** A PBS driver; `queue` is the default `-q`. */
  constructor(queue?: string) {
    this.#queue = queue;
  }

  /** The `qsub` argv for `req`. */
  submitArgv(req: PilotRequest): string[] {
    const queue = req.queue ?? this.#queue;
    return [
      "qsub",
      "-N",
      req.name,
      "-l",
      `select=1:ncpus=${req.cores}`,
      "-l",
      `walltime=${walltime(req.ttlSeconds)}`,
      ...(queue ? ["-q", queue] : []),
      "-o",
      `${req.logDir}/`,
      "-e",
      `${req.logDir}/`,
      req.script,
    ];
  }

  /** Parses `qstat -f -F json -x` output, keeping the jobs named `name`. */
  static parseStatus(text: string, name: string): PilotStatus[] {
    let doc: { Jobs?: Record<string, Record<string, unknown>> };
    try {
      doc = JSON.parse(text);
    } catch {
      return [];
    }
    const out: PilotStatus[] = [];
    for (const [fullId, job] of Object.entries(doc.Jobs ?? {})) {
      if (job.Job_Name !== name) continue;
      const raw = String(job.job_state ?? "?");
      let state = STATES[raw] ?? "failed";
      const exit = job.Exit_status;
      if (state === "finished" && typeof exit === "number" && exit !== 0) {
        state = exit < 0 ? "cancelled" : "failed";
      }
      out.push({ id: fullId.split(".")[0], state, raw });
    }
    return out;
  }

  /** @inheritdoc */
  async submit(req: PilotRequest): Promise<string> {
    const out = await runBatchCommand(this.submitArgv(req));
    const id = out.trim().split(".")[0];
    if (!/^\d+$/.test(id)) throw new Error(`qsub printed "${out.trim()}"`);
    return id;
  }

  /** @inheritdoc */
  async status(name: string): Promise<PilotStatus[]> {
    return PbsBatch.parseStatus(
      await runBatchCommand(["qstat", "-f", "-F", "json", "-x"]),
      name,
    );
  }

  /** @inheritdoc */
  async cancel(id: string): Promise<void> {
    await runBatchCommand(["qdel", id]);
  }
}
