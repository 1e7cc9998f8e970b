/**
 * `splitpilot trace ID`: a job's accounting and its trace: every state it
 * went through, when, by whom and why.
 *
 * ```sh
 * splitpilot trace 42
 * splitpilot trace 42 --json   # {"job": {...}, "trace": [{at, state, actor, reason}]}
 * ```
 *
 * Exit codes: 0 shown, 1 failure, 2 bad usage, 3 no such job or not yours.
 *
 * @module
 */
import {
  COMMON_FLAGS,
  formatBytes,
  formatCounts,
  formatSeconds,
  jobIdArg,
  type JobView,
  type MasterView,
  shortTime,
  table,
} from "./_user_cli.ts";
import { type CommandMain, userCommand } from "./user_command.ts";

/** Usage text. */
export const TRACE_USAGE =
  `usage: splitpilot trace ID [--json] [--broker URL] [--token DIR]
${COMMON_FLAGS}
examples:
  splitpilot trace 42
  splitpilot trace 42 --json   # {"job": {...}, "trace": [{at, state, actor, reason}]}`;

/** One trace entry as the API returns it. */
interface TraceView {
  at: string;
  state: string;
  actor: string;
  reason: string;
}

/** The lines `trace` prints. */
export function formatTrace(job: JobView, trace: TraceView[]): string[] {
  const m = job as unknown as Partial<MasterView>;
  if (m.master) {
    return [
      `masterjob ${m.id}  owner ${m.owner}  state ${m.state}  split ${m.split}  subjobs ${m.subjobs}`,
      `subjobs by state: ${formatCounts(m.counts ?? {})}`,
      "",
      ...table(
        ["TIME", "STATE", "ACTOR", "REASON"],
        trace.map((t) => [shortTime(t.at), t.state, t.actor, t.reason]),
      ),
    ];
  }
  const u = job.usage;
  return [
    `job ${job.id}  owner ${job.owner}  state ${job.state}  priority ${job.priority}  cores ${job.cpuCores}  ttl ${job.ttl}s`,
    `resubmissions ${job.resubmissions}  exit code ${
      job.exitCode ?? "-"
    }  kill reason ${job.killReason ?? "-"}  agent ${job.agent ?? "-"}`,
    `usage: cpu ${formatSeconds(u?.cpuSeconds)}  wall ${
      formatSeconds(u?.wallSeconds)
    }  rss ${formatBytes(u?.rssBytes)}  max rss ${
      formatBytes(u?.maxRssBytes)
    }  disk ${formatBytes(u?.diskBytes)}`,
    ...(job.why ? [`waiting: ${job.why}`] : []),
    "",
    ...table(
      ["TIME", "STATE", "ACTOR", "REASON"],
      trace.map((t) => [shortTime(t.at), t.state, t.actor, t.reason]),
    ),
  ];
}

/**
 * Runs `trace ID`: the job's accounting and every transition with time,
 * actor and reason. Returns the exit code.
 *
 * @example
 * ```ts ignore
 * import { main } from "./trace_cmd.ts";
 * Deno.exit(await main(["42", "--json"]));
 * ```
 */
export const main: CommandMain = userCommand({
  usage: TRACE_USAGE,
  async run({ flags, io, connect }) {
    const id = jobIdArg(flags._, TRACE_USAGE);
    const client = await connect();
    const out = (await client.json<{ job: JobView; trace: TraceView[] }>(
      "GET",
      `/api/v1/jobs/${id}/trace`,
    ))!;
    if (flags.json) io.out(JSON.stringify(out));
    else for (const line of formatTrace(out.job, out.trace)) io.out(line);
    return 0;
  },
});

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
