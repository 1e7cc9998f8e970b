/**
 * `splitpilot ps`: lists your jobs, newest first, with their accounting
 * (exit code, kill reason, CPU and wall time, memory).
 *
 * ```sh
 * splitpilot ps
 * splitpilot ps --state WAITING,RUNNING --limit 50
 * splitpilot ps --user alice --json   # another user: admin tokens only
 * ```
 *
 * `--json` prints `{"jobs": [...]}` with the broker's job objects (keys:
 * id, owner, state, priority, cpuCores, ttl, createdAt, updatedAt,
 * resubmissions, exitCode, killReason, agent, usage, message, ...).
 *
 * Exit codes: 0 listed, 1 failure, 2 bad usage (e.g. an unknown state),
 * 3 not allowed (another user's jobs without an admin token).
 *
 * @module
 */
import { parseArgs } from "../std/cli.ts";
import { JOB_STATES } from "../broker/states.ts";
import { type CliIo, CONSOLE_IO } from "./ca_cmd.ts";
import {
  COMMON_FLAGS,
  connect,
  fail,
  formatBytes,
  formatCounts,
  formatSeconds,
  type JobView,
  type MasterView,
  shortTime,
  table,
  UsageError,
} from "./_user_cli.ts";

/** Usage text. */
export const PS_USAGE =
  `usage: splitpilot ps [--state S[,S...]] [--user NAME] [--limit N] [--master ID] [--json] [--broker URL] [--token DIR]
  --master ID    the subjobs of masterjob ID
  --state S      only jobs in these states (${JOB_STATES.join(", ")})
  --user NAME    another user's jobs (admin tokens)
  --limit N      at most N jobs (default 100)
${COMMON_FLAGS}`;

/** The table `ps` prints. */
export function formatJobs(jobs: JobView[]): string[] {
  return table(
    [
      "ID",
      "USER",
      "STATE",
      "PRIO",
      "CORES",
      "RESUB",
      "EXIT",
      "KILL",
      "CPU",
      "WALL",
      "MAXRSS",
      "UPDATED",
    ],
    jobs.map((j) => [
      j.id,
      j.owner,
      j.state,
      j.priority,
      j.cpuCores,
      j.resubmissions,
      j.exitCode,
      j.killReason,
      j.usage ? formatSeconds(j.usage.cpuSeconds) : null,
      j.usage ? formatSeconds(j.usage.wallSeconds) : null,
      j.usage ? formatBytes(j.usage.maxRssBytes ?? j.usage.rssBytes) : null,
      shortTime(j.updatedAt),
    ]),
  );
}

/** The masters table `ps` prints: subjob counts by state. */
export function formatMasters(masters: MasterView[]): string[] {
  return table(
    ["MASTER", "USER", "STATE", "SPLIT", "SUBJOBS", "BY STATE", "UPDATED"],
    masters.map((m) => [
      m.id,
      m.owner,
      m.state,
      m.split,
      m.subjobs,
      formatCounts(m.counts),
      shortTime(m.updatedAt),
    ]),
  );
}

/** One line per waiting job that says why it waits. */
export function formatWhy(jobs: JobView[]): string[] {
  return jobs.filter((j) => j.state === "WAITING" && j.why).map((j) =>
    `job ${j.id} waits: ${j.why}`
  );
}

/** Runs `ps <args>`; returns the exit code. */
export async function main(
  args: string[],
  io: CliIo = CONSOLE_IO,
): Promise<number> {
  let client;
  try {
    const flags = parseArgs(args, {
      string: ["broker", "token", "state", "user", "limit", "master"],
      boolean: ["json", "help"],
      alias: { h: "help" },
    });
    if (flags.help) {
      io.out(PS_USAGE);
      return 0;
    }
    if (flags._.length > 0) {
      throw new UsageError(`unexpected argument "${flags._[0]}"`);
    }
    const q = new URLSearchParams();
    if (flags.state !== undefined) {
      const states = String(flags.state).split(",").map((s) =>
        s.trim().toUpperCase()
      ).filter(Boolean);
      for (const s of states) {
        if (!(JOB_STATES as readonly string[]).includes(s)) {
          throw new UsageError(
            `--state ${s}: unknown job state; expected one of ${
              JOB_STATES.join(", ")
            }`,
          );
        }
      }
      q.set("state", states.join(","));
    }
    if (flags.user !== undefined) q.set("user", flags.user);
    const limit = flags.limit === undefined ? 100 : Number(flags.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10000) {
      throw new UsageError(
        `--limit ${flags.limit}: expected a whole number from 1 to 10000`,
      );
    }
    q.set("limit", String(limit));
    if (flags.master !== undefined) {
      if (!/^\d{1,18}$/.test(flags.master)) {
        throw new UsageError(`--master ${flags.master}: expected a job ID`);
      }
      q.set("master", flags.master);
    }
    client = await connect(flags);
    const out = await client.json<
      { jobs: JobView[]; masters?: MasterView[]; master?: MasterView }
    >(
      "GET",
      `/api/v1/jobs?${q}`,
    );
    const jobs = out?.jobs ?? [];
    const masters = out?.masters ?? [];
    if (flags.json) {
      io.out(JSON.stringify(
        out?.master ? { master: out.master, jobs } : {
          jobs,
          ...(masters.length > 0 ? { masters } : {}),
        },
      ));
    } else {
      if (out?.master) {
        for (const line of formatMasters([out.master])) io.out(line);
      } else if (masters.length > 0) {
        for (const line of formatMasters(masters)) io.out(line);
      }
      if (out?.master || masters.length > 0) io.out("");
      if (jobs.length === 0) io.out("no jobs");
      else for (const line of formatJobs(jobs)) io.out(line);
      for (const line of formatWhy(jobs)) io.out(line);
    }
    return 0;
  } catch (e) {
    return fail(io, e, PS_USAGE);
  } finally {
    client?.close();
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
