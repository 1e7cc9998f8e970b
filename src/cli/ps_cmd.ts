/**
 * `splitpilot ps`: lists your jobs, newest first, with their accounting
 * (exit code, kill reason, CPU and wall time, memory).
 *
 * ```sh
 * splitpilot ps
 * splitpilot ps --state WAITING,RUNNING --limit 50
 * splitpilot ps --all --json          # every job, paged through
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
import { JOB_STATES } from "../protocol/job_state.ts";
import { UsageError } from "./cli_io.ts";
import {
  COMMON_FLAGS,
  formatBytes,
  formatCounts,
  formatSeconds,
  type JobView,
  type MasterView,
  shortTime,
  table,
} from "./_user_cli.ts";
import { type CommandMain, userCommand } from "./user_command.ts";

/** Usage text. */
export const PS_USAGE =
  `usage: splitpilot ps [--state S[,S...]] [--user NAME] [--limit N | --all] [--master ID] [--json] [--broker URL] [--token DIR]
  --master ID    the subjobs of masterjob ID
  --state S      only jobs in these states (${JOB_STATES.join(", ")})
  --user NAME    another user's jobs (admin tokens)
  --limit N      at most N jobs (default 100), fetched in pages
  --all          every job
${COMMON_FLAGS}
examples:
  splitpilot ps
  splitpilot ps --state WAITING,RUNNING --limit 50
  splitpilot ps --user alice --json   # another user's jobs: admin tokens`;

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
export const main: CommandMain = userCommand({
  usage: PS_USAGE,
  flags: { string: ["state", "user", "limit", "master"], boolean: ["all"] },
  async run({ flags, io, connect }) {
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
    const limit = flags.all
      ? Infinity
      : flags.limit === undefined
      ? 100
      : Number(flags.limit);
    if (!flags.all && (!Number.isSafeInteger(limit) || limit < 1)) {
      throw new UsageError(
        `--limit ${flags.limit}: expected a positive whole number`,
      );
    }
    if (flags.master !== undefined) {
      if (!/^\d{1,18}$/.test(flags.master)) {
        throw new UsageError(`--master ${flags.master}: expected a job ID`);
      }
      q.set("master", flags.master);
    }
    const client = await connect();
    // The broker answers pages of at most 10,000; follow its cursor.
    const jobs: JobView[] = [];
    let masters: MasterView[] = [];
    let master: MasterView | undefined;
    for (let before: string | null = ""; before !== null;) {
      if (before) q.set("before", before);
      q.set("limit", String(Math.min(limit - jobs.length, 5000)));
      const page:
        | {
          jobs: JobView[];
          next?: string | null;
          masters?: MasterView[];
          master?: MasterView;
        }
        | undefined = await client.json("GET", `/api/v1/jobs?${q}`);
      jobs.push(...(page?.jobs ?? []));
      if (!before) {
        masters = page?.masters ?? [];
        master = page?.master;
      }
      before = jobs.length < limit && !master ? page?.next ?? null : null;
    }
    const out = { jobs, masters, master };
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
  },
});

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
