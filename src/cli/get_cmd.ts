/**
 * `splitpilot get ID [--out DIR]`: downloads a job's outputs (every file
 * under `/<owner>/jobs/<ID>/`) into `DIR` (default `job-<ID>`), keeping
 * their relative paths. Each file streams to `NAME.part`, is checked
 * against the SHA-256 the broker sends (`x-sha256`) and lists, then renamed
 * into place; files of 1 MiB or more show progress on stderr.
 *
 * ```sh
 * splitpilot get 42 --out results/
 * splitpilot get 42 --json   # {"jobId","dir","files":[{lfn,path,size,sha256}]}
 * ```
 *
 * Exit codes: 0 downloaded (also when the job has no outputs yet), 1
 * failure (broker unreachable, checksum mismatch, write error), 2 bad
 * usage, 3 no such job or not yours.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { parseArgs } from "../std/cli.ts";
import { attemptLfn, inAttemptTree } from "../broker/attempts.ts";
import { type CliIo, CONSOLE_IO } from "./ca_cmd.ts";
import {
  CliFailure,
  COMMON_FLAGS,
  connect,
  fail,
  formatBytes,
  jobIdArg,
  type JobView,
  table,
} from "./_user_cli.ts";

/** Usage text. */
export const GET_USAGE =
  `usage: splitpilot get ID [--out DIR] [--attempt N] [--json] [--broker URL] [--token DIR]
  --out DIR      where to put the files (default: job-ID)
  --attempt N    the outputs of attempt N (0 = first run; default: the
                 attempt that reached the job's current state)
${COMMON_FLAGS}`;

/** Files at least this big show progress. */
export const PROGRESS_MIN_BYTES = 1024 * 1024;

interface FileView {
  lfn: string;
  size: number;
  sha256: string;
}

/** Where one downloaded file went. */
export interface Downloaded {
  /** Logical file name. */
  lfn: string;
  /** Local path. */
  path: string;
  /** Bytes. */
  size: number;
  /** Verified SHA-256, hex. */
  sha256: string;
}

/** A relative path below the job's directory, refusing escapes. */
function relativePath(lfn: string, prefix: string): string {
  const rel = lfn.slice(prefix.length);
  const parts = rel.split("/");
  if (
    !lfn.startsWith(prefix) || rel === "" ||
    parts.some((p) => p === "" || p === "." || p === "..")
  ) {
    throw new CliFailure(1, `refusing file name ${lfn} from the broker`);
  }
  return rel;
}

/** Progress lines: rewritten in place on a terminal, else every 25 %. */
function progress(
  io: CliIo,
  name: string,
  total: number,
): (done: number) => void {
  const tty = io === CONSOLE_IO && Deno.stderr.isTerminal();
  const enc = new TextEncoder();
  let lastStep = -1;
  let lastAt = 0;
  return (done) => {
    const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
    const text = `${name}: ${pct}% (${formatBytes(done)} of ${
      formatBytes(total)
    })`;
    if (tty) {
      const now = performance.now();
      if (done < total && now - lastAt < 100) return;
      lastAt = now;
      Deno.stderr.writeSync(
        enc.encode(`\r${text}\x1b[K${done >= total ? "\n" : ""}`),
      );
      return;
    }
    const step = Math.floor(pct / 25);
    if (step === lastStep) return;
    lastStep = step;
    io.err(text);
  };
}

/** Runs `get <args>`; returns the exit code. */
export async function main(
  args: string[],
  io: CliIo = CONSOLE_IO,
): Promise<number> {
  let client;
  try {
    const flags = parseArgs(args, {
      string: ["broker", "token", "out", "attempt"],
      boolean: ["json", "help"],
      alias: { h: "help", o: "out" },
    });
    if (flags.help) {
      io.out(GET_USAGE);
      return 0;
    }
    const id = jobIdArg(flags._, GET_USAGE);
    const dir = (flags.out as string | undefined) ?? `job-${id}`;
    client = await connect(flags);
    const job = (await client.json<JobView>("GET", `/api/v1/jobs/${id}`))!;
    const attempt = flags.attempt === undefined
      ? job.resubmissions
      : Number(flags.attempt);
    if (!Number.isInteger(attempt) || attempt < 0) {
      throw new CliFailure(
        2,
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
    const files = all.filter((f) =>
      f.lfn.startsWith(prefix) && (byAttempt || !inAttemptTree(jobDir, f.lfn))
    );
    const got: Downloaded[] = [];
    for (const f of files) {
      const rel = relativePath(f.lfn, prefix);
      const path = `${dir}/${rel}`;
      await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), {
        recursive: true,
      });
      const res = await client.download(f.lfn);
      const expect = res.headers.get("x-sha256") ?? f.sha256;
      const size = Number(res.headers.get("content-length") ?? f.size);
      const show = size >= PROGRESS_MIN_BYTES
        ? progress(io, rel, size)
        : undefined;
      const hash = createHash("sha256");
      const part = `${path}.part`;
      const file = await Deno.open(part, {
        write: true,
        create: true,
        truncate: true,
      });
      let done = 0;
      try {
        show?.(0);
        for await (const chunk of res.body!) {
          hash.update(chunk);
          let off = 0;
          while (off < chunk.byteLength) {
            off += await file.write(chunk.subarray(off));
          }
          done += chunk.byteLength;
          show?.(done);
        }
      } finally {
        file.close();
      }
      const sha256 = hash.digest("hex");
      if (sha256 !== expect || sha256 !== f.sha256 || done !== f.size) {
        await Deno.remove(part).catch(() => {});
        throw new CliFailure(
          1,
          `${f.lfn}: checksum mismatch: got ${done} bytes with sha-256 ${sha256}, the broker says ${f.size} bytes with ${expect}`,
        );
      }
      await Deno.rename(part, path);
      got.push({ lfn: f.lfn, path, size: done, sha256 });
    }
    if (flags.json) {
      io.out(JSON.stringify({ jobId: id, dir, files: got }));
    } else if (got.length === 0) {
      io.out(
        byAttempt
          ? `job ${id} (${job.state}) has no outputs of attempt ${attempt}`
          : `job ${id} (${job.state}) has no outputs yet`,
      );
    } else {
      for (
        const line of table(
          ["FILE", "SIZE", "SHA-256"],
          got.map((g) => [g.path, formatBytes(g.size), `${g.sha256} ok`]),
        )
      ) io.out(line);
    }
    return 0;
  } catch (e) {
    return fail(io, e, GET_USAGE);
  } finally {
    client?.close();
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
