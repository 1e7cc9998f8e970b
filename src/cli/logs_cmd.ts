/**
 * `splitpilot logs ID [-f]`: a job's output. While the job runs, the live
 * tail its agent forwards (stdout as is, stderr and the wrapper's own
 * lines with a prefix); with `-f` it follows until the job ends. Once the
 * job has ended and no live lines are left (e.g. after a broker restart),
 * it prints the `stdout` and `stderr` files the job uploaded.
 *
 * ```sh
 * splitpilot logs 42        # what there is now
 * splitpilot logs 42 -f     # follow until the job ends
 * ```
 *
 * Control characters in the output are shown escaped (`\x1b`), so a
 * payload cannot drive the user's terminal.
 *
 * Exit codes: 0 shown, 1 failure, 2 bad usage, 3 no such job or not yours.
 *
 * @module
 */
import type { BrokerClient } from "../client/broker_client.ts";
import { type CliIo, CONSOLE_IO } from "./cli_io.ts";
import { COMMON_FLAGS, jobIdArg, type JobView } from "./_user_cli.ts";
import { userCommand } from "./user_command.ts";

/** Usage text. */
export const LOGS_USAGE =
  `usage: splitpilot logs ID [-f|--follow] [--json] [--broker URL] [--token DIR]
  -f, --follow   keep printing new lines until the job ends
${COMMON_FLAGS}
examples:
  splitpilot logs 42
  splitpilot logs 42 -f`;

interface LogLine {
  seq: number;
  stream: string;
  text: string;
  at: number;
}

interface LogPage {
  lines: LogLine[];
  next: number;
  dropped: number;
  state: string;
  final: boolean;
  ended: boolean;
}

/** Escapes control characters (but tab) as `\xNN`. */
export function escapeControls(text: string): string {
  return text.replace(
    // deno-lint-ignore no-control-regex
    /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}

function lineText(l: { stream: string; text: string }): string {
  const t = escapeControls(l.text);
  return l.stream === "stdout" ? t : `${l.stream}: ${t}`;
}

async function uploaded(
  client: BrokerClient,
  job: JobView,
  io: CliIo,
  json: boolean,
): Promise<void> {
  for (const stream of ["stdout", "stderr"]) {
    let text: string;
    try {
      const res = await client.download(
        `/${job.owner}/jobs/${job.id}/${stream}`,
      );
      text = await res.text();
    } catch {
      continue; // not uploaded (e.g. empty, or archived)
    }
    for (const line of text.split("\n")) {
      if (line === "") continue;
      if (json) io.out(JSON.stringify({ stream, text: line }));
      else io.out(lineText({ stream, text: line }));
    }
  }
}

/** Runs `logs <args>`; returns the exit code. */
export function main(
  args: string[],
  io: CliIo = CONSOLE_IO,
  opts: { pollMs?: number } = {},
): Promise<number> {
  return userCommand({
    usage: LOGS_USAGE,
    flags: { boolean: ["follow"], alias: { f: "follow" } },
    async run({ flags, io, connect }) {
      const id = jobIdArg(flags._.map(String), LOGS_USAGE);
      const client = await connect();
      const job = (await client.json<JobView>("GET", `/api/v1/jobs/${id}`))!;
      let after = 0;
      let printed = 0;
      let finalSince: number | undefined;
      for (;;) {
        const page = (await client.json<LogPage>(
          "GET",
          `/api/v1/jobs/${id}/log?after=${after}`,
        ))!;
        if (page.dropped > 0 && !flags.json) {
          io.out(`… ${page.dropped} earlier line(s) no longer kept …`);
        }
        for (const l of page.lines) {
          io.out(flags.json ? JSON.stringify(l) : lineText(l));
          printed++;
        }
        after = page.next;
        // A final job's last lines may still be on their way from its agent:
        // wait for its end-of-output mark, a few seconds at most (an agent
        // that died sends none).
        finalSince ??= page.final ? Date.now() : undefined;
        const done = page.final &&
          (page.ended || !flags.follow || Date.now() - finalSince! > 5000);
        if (done) {
          if (printed === 0) await uploaded(client, job, io, flags.json);
          return 0;
        }
        if (!flags.follow) return 0;
        await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
      }
    },
  })(args, io);
}
