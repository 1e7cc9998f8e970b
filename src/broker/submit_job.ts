/**
 * What `POST /api/v1/jobs` does with a JDL: fill `$1…$N` from the `arg`
 * query parameters, parse (lenient unless `strict`), resolve the
 * executable, and store one job, or a master with its subjobs when the JDL
 * has `Split`.
 *
 * @module
 */
import {
  applyArguments,
  formatJdl,
  JdlError,
  type JdlWarning,
  type JobDescription,
  MAX_SUBJOBS,
  parseJdl,
  plan,
  subjobAttributes,
  valueLocation,
} from "../jdl/mod.ts";
import { badRequest } from "./errors.ts";
import { resolveExecutable } from "./executable_lookup.ts";
import { newJob } from "./claim.ts";
import type { MasterJobs } from "./masterjobs.ts";
import type { JobStore, NewJob } from "./store.ts";

/** What a submission needs from the broker. */
export interface SubmitDeps {
  /** The task queue. */
  store: JobStore;
  /** Masterjob bookkeeping; without it a `Split` JDL is refused. */
  masters?: MasterJobs;
  /** Waiting time of a job whose JDL has no `MaxWaitingTime`, s. */
  maxWaitingSeconds: number;
}

/** How to read the JDL. */
export interface SubmitOptions {
  /** Values of `$1…$N`. */
  args: string[];
  /** Today's strict grammar and checks only (no JAliEn leniency). */
  strict: boolean;
  /** The request's retry key: a resent single-job submission stores once. */
  idempotencyKey?: string;
}

/** The answer to a submission. */
export interface SubmitResult {
  /** The job's ID, or the master's. */
  jobId: string;
  /** `WAITING`, or `SPLIT` for a master. */
  state: string;
  /** Leniencies used, with their lines and columns. */
  warnings: JdlWarning[];
  /** For a master: how many subjobs it has. */
  subjobs?: number;
}

function badJdl(e: unknown): never {
  if (e instanceof JdlError) throw badRequest("bad_jdl", e.message);
  throw e;
}

/** Runs one submission; JDL problems become 400 `bad_jdl`. */
export async function submitJob(
  deps: SubmitDeps,
  owner: string,
  text: string,
  opts: SubmitOptions,
): Promise<SubmitResult> {
  const actor = `USER:${owner}`;
  const warnings: JdlWarning[] = [];
  let filled: string;
  let jd: JobDescription;
  try {
    filled = applyArguments(text, opts.args);
    jd = parseJdl(filled, { strict: opts.strict, warnings });
    jd = await resolveExecutable(
      jd,
      owner,
      deps.store,
      () => valueLocation(filled, "executable", { strict: opts.strict }),
    );
  } catch (e) {
    badJdl(e);
  }
  if (jd.split === undefined) {
    const id = await deps.store.submit({
      ...newJob(owner, jd, deps.maxWaitingSeconds),
      ...(opts.idempotencyKey === undefined
        ? {}
        : { idempotencyKey: opts.idempotencyKey }),
    }, actor);
    return { jobId: id, state: "WAITING", warnings };
  }
  if (deps.masters === undefined) {
    throw badRequest(
      "bad_jdl",
      "Split needs the SQLite task queue (masterjobs are kept next to it)",
    );
  }
  const split = jd.split;
  const subs = plan(split, jd);
  if (subs.length === 0 || subs.length > MAX_SUBJOBS) {
    const { line, column } = valueLocation(filled, "split", {
      strict: opts.strict,
    });
    throw badRequest(
      "bad_jdl",
      new JdlError(
        line,
        column,
        `expected 1 to ${MAX_SUBJOBS} subjobs from Split, found ${subs.length}${
          split.kind === "production"
            ? ""
            : " (InputData lists the files to split)"
        }`,
      ).message,
    );
  }
  const masterId = await deps.masters.reserveId();
  const jobs: NewJob[] = [];
  try {
    for (const sub of subs) {
      const attributes = subjobAttributes(jd, masterId, sub);
      const subJd = parseJdl(formatJdl({ ...jd, attributes }), {
        strict: false,
      });
      jobs.push(newJob(owner, subJd, deps.maxWaitingSeconds));
    }
  } catch (e) {
    badJdl(e);
  }
  const splitText = split.kind === "production"
    ? `production:${split.first}-${split.last}`
    : split.kind;
  await deps.masters.create(
    masterId,
    owner,
    splitText,
    formatJdl(jd),
    jobs,
    actor,
  );
  return { jobId: masterId, state: "SPLIT", warnings, subjobs: jobs.length };
}
