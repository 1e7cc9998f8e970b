/**
 * `splitpilot get ID|LFN [--out DIR]`: downloads a job's outputs (every
 * file under `/<owner>/jobs/<ID>/`) into `DIR` (default `job-<ID>`),
 * keeping their relative paths; or one file by its LFN into `DIR` (default
 * the current directory). Each file streams to `NAME.part`, is checked
 * against the SHA-256 the broker sends (`x-sha256`) and lists, then renamed
 * into place; files of 1 MiB or more show progress on stderr.
 *
 * ```sh
 * splitpilot get 42 --out results/
 * splitpilot get /jdoe/demo/input.txt
 * splitpilot get 42 --json   # {"jobId","dir","files":[{lfn,path,size,sha256}]}
 * ```
 *
 * Exit codes: 0 downloaded, 1 failure (broker unreachable, checksum
 * mismatch, write error), 2 bad usage, 3 no such job or file, not yours,
 * or a finished job without outputs, 4 the job has no outputs yet.
 *
 * @module
 */
import { attemptLfn, inAttemptTree } from "../broker/attempts.ts";
import { FINAL_STATES, type JobState } from "../protocol/job_state.ts";
import { CliFailure, EXIT, UsageError } from "./cli_io.ts";
import {
  COMMON_FLAGS,
  formatBytes,
  jobIdArg,
  type JobView,
  table,
} from "./_user_cli.ts";
import {
  type Downloaded,
  downloadFile,
  type FileView,
  joinPath,
  lfnArg,
} from "./transfer.ts";
import { type CommandMain, userCommand } from "./user_command.ts";

/** Usage text. */
export const GET_USAGE =
  `usage: splitpilot get ID|LFN [--out DIR] [--attempt N] [--json] [--broker URL] [--token DIR]
  ID             a job: downloads all its outputs into DIR (default: job-ID)
  LFN            one file, e.g. /jdoe/demo/input.txt, into DIR (default: .)
  --out DIR      where to put the files
  --attempt N    a job's outputs of attempt N (0 = first run; default: the
                 attempt that reached the job's current state)
${COMMON_FLAGS}
examples:
  splitpilot get 42 --out results/
  splitpilot get 42 --attempt 0
  splitpilot get /jdoe/demo/input.txt`;

/** A relative path below the job's directory, refusing escapes. */
function relativePath(lfn: string, prefix: string): string {
  const rel = lfn.slice(prefix.length);
  const parts = rel.split("/");
  if (
    !lfn.startsWith(prefix) || rel === "" ||
    parts.some((p) => p === "" || p === "." || p === "..")
  ) {
    throw new CliFailure(
      EXIT.failure,
      `refusing file name ${lfn} from the broker`,
      "bad_lfn",
    );
  }
  return rel;
}

/** Runs `get <args>`; returns the exit code. */
export const main: CommandMain = userCommand({
  usage: GET_USAGE,
  flags: { string: ["out", "attempt"], alias: { o: "out" } },
  async run({ flags, io, json, connect }) {
    const target = flags._[0];
    if (target?.startsWith("/")) {
      if (flags._.length > 1) {
        throw new UsageError(`unexpected argument "${flags._[1]}"`);
      }
      const lfn = lfnArg(target);
      const name = lfn.slice(lfn.lastIndexOf("/") + 1);
      if (!name) {
        throw new UsageError(`LFN ${lfn}: names a directory, not a file`);
      }
      const dir = (flags.out as string | undefined) ?? ".";
      if (dir !== ".") await Deno.mkdir(dir, { recursive: true });
      const client = await connect();
      const got = await downloadFile(client, lfn, joinPath(dir, name), io);
      io.out(
        json
          ? JSON.stringify({ files: [got] })
          : `${got.path}  ${formatBytes(got.size)}  ${got.sha256} ok`,
      );
      return 0;
    }
    const id = jobIdArg(flags._, GET_USAGE);
    const dir = (flags.out as string | undefined) ?? `job-${id}`;
    const client = await connect();
    const job = (await client.json<JobView>("GET", `/api/v1/jobs/${id}`))!;
    const attempt = flags.attempt === undefined
      ? job.resubmissions
      : Number(flags.attempt);
    if (!Number.isInteger(attempt) || attempt < 0) {
      throw new UsageError(
        `--attempt ${flags.attempt}: expected an integer >= 0`,
      );
    }
    const jobDir = `/${job.owner}/jobs/${id}/`;
    const all: FileView[] = [];
    for (let after: string | null = ""; after !== null;) {
      const page: { files: FileView[]; next?: string | null } =
        (await client.json<{ files: FileView[]; next?: string | null }>(
          "GET",
          `/api/v1/files?${new URLSearchParams({ prefix: jobDir, after })}`,
        ))!;
      all.push(...page.files);
      after = page.next ?? null;
    }
    // Each attempt's outputs are kept apart (src/broker/attempts.ts); a
    // job dir without that tree (files the user put there) is served as is.
    const perAttempt = all.some((f) => inAttemptTree(jobDir, f.lfn));
    const byAttempt = perAttempt || flags.attempt !== undefined;
    const prefix = byAttempt ? attemptLfn(jobDir, attempt, "") : jobDir;
    const listing = {
      files: all.filter((f) =>
        f.lfn.startsWith(prefix) && (byAttempt || !inAttemptTree(jobDir, f.lfn))
      ),
    };
    if (listing.files.length === 0 && flags.attempt !== undefined) {
      throw new CliFailure(
        EXIT.notFound,
        `job ${id} has no outputs of attempt ${attempt} (it is at attempt ${job.resubmissions})`,
        "no_outputs",
      );
    }
    if (listing.files.length === 0) {
      const final = FINAL_STATES.has(job.state as JobState);
      throw final
        ? new CliFailure(
          EXIT.notFound,
          `job ${id} ended ${job.state} without outputs`,
          "no_outputs",
        )
        : new CliFailure(
          EXIT.state,
          `job ${id} is ${job.state}: no outputs yet; try again when it is DONE`,
          "not_ready",
        );
    }
    const got: Downloaded[] = [];
    for (const f of listing.files) {
      const rel = relativePath(f.lfn, prefix);
      const path = joinPath(dir, rel);
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")) || ".", {
        recursive: true,
      });
      got.push(await downloadFile(client, f.lfn, path, io, f));
    }
    if (json) {
      io.out(JSON.stringify({ jobId: id, dir, files: got }));
    } else {
      for (
        const line of table(
          ["FILE", "SIZE", "SHA-256"],
          got.map((g) => [g.path, formatBytes(g.size), `${g.sha256} ok`]),
        )
      ) io.out(line);
    }
    return 0;
  },
});
