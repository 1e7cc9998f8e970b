/**
 * HTCondor, from its documented command line: `condor_submit` with a
 * submit description on stdin, `condor_q`/`condor_history` with
 * `-af` (autoformat) output, `condor_rm`. It has not been run against a
 * real pool here; its argv and parsing are tested.
 *
 * @example
 * ```ts
 * import { HtcondorBatch } from "./htcondor.ts";
 * HtcondorBatch.submitDescription({ script: "/srv/pilot.sh", name: "sp-pilot-CERN",
 *   cores: 8, ttlSeconds: 86400, logDir: "/srv/log" });
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

/** HTCondor's JobStatus codes. */
const STATUS: Record<string, [string, PilotState]> = {
  "1": ["Idle", "queued"],
  "2": ["Running", "running"],
  "3": ["Removed", "cancelled"],
  "4": ["Completed", "finished"],
  "5": ["Held", "queued"],
  "6": ["Transferring Output", "running"],
  "7": ["Suspended", "queued"],
};

/** See the module doc. */
export class HtcondorBatch implements BatchSystem {
  /** @inheritdoc */
  readonly name = "htcondor";

  /** The submit description for `req` (fed to `condor_submit` on stdin). */
  static submitDescription(req: PilotRequest): string {
    return [
      `executable = ${req.script}`,
      "universe = vanilla",
      `JobBatchName = ${req.name}`,
      `+SplitpilotFactory = "${req.name}"`,
      `request_cpus = ${req.cores}`,
      `+MaxRuntime = ${req.ttlSeconds}`,
      `periodic_remove = (JobStatus == 2) && (time() - EnteredCurrentStatus > ${req.ttlSeconds})`,
      `output = ${req.logDir}/$(Cluster).out`,
      `error = ${req.logDir}/$(Cluster).err`,
      "getenv = false",
      "queue 1",
      "",
    ].join("\n");
  }

  /** The `condor_q` argv listing the pilots named `name`. */
  static statusArgv(name: string): string[] {
    return [
      "condor_q",
      "-constraint",
      `SplitpilotFactory == "${name}"`,
      "-af",
      "ClusterId",
      "JobStatus",
      "HoldReason",
    ];
  }

  /** Parses `condor_q -af ClusterId JobStatus HoldReason` output. */
  static parseStatus(text: string): PilotStatus[] {
    const out: PilotStatus[] = [];
    for (const line of text.split("\n")) {
      const m = /^(\d+)\s+(\d)\s*(.*)$/.exec(line.trim());
      if (!m) continue;
      const [raw, state] = STATUS[m[2]] ?? ["Unknown", "failed"];
      const reason = m[3] && m[3] !== "undefined" ? m[3] : undefined;
      out.push({ id: m[1], state, raw, reason });
    }
    return out;
  }

  /** @inheritdoc */
  async submit(req: PilotRequest): Promise<string> {
    const child = new Deno.Command("condor_submit", {
      args: ["-terse", "-"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(
      new TextEncoder().encode(HtcondorBatch.submitDescription(req)),
    );
    await w.close();
    const out = await child.output();
    const text = new TextDecoder().decode(out.stdout);
    // -terse prints "CLUSTER.PROC - CLUSTER.PROC".
    const m = /^(\d+)\.\d+/.exec(text.trim());
    if (out.code !== 0 || !m) {
      throw new Error(
        `condor_submit exited with code ${out.code}: ${
          new TextDecoder().decode(out.stderr).trim()
        }`,
      );
    }
    return m[1];
  }

  /** @inheritdoc */
  async status(name: string): Promise<PilotStatus[]> {
    return HtcondorBatch.parseStatus(
      await runBatchCommand(HtcondorBatch.statusArgv(name)),
    );
  }

  /** @inheritdoc */
  async cancel(id: string): Promise<void> {
    await runBatchCommand(["condor_rm", id]);
  }
}
