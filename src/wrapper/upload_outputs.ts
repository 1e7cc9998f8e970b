/**
 * Output collection and upload: declared `OutputFile` names and globs,
 * plus the payload's stdout/stderr, go to `/<owner>/jobs/<jobId>/`.
 *
 * Only plain regular files inside the sandbox are uploaded (symlinks at
 * any depth and hard links are refused, see `output_guard.ts`).
 *
 * @module
 */
import { sha256 } from "./_sha256_stream.ts";
import type { BrokerClient } from "../client/broker_client.ts";
import { resend } from "../client/resend.ts";
import type { JobDescription } from "../jdl/mod.ts";
import type { StartMessage } from "../protocol/mod.ts";
import { writeZip } from "./zip_writer.ts";
import { checkOutput, openOutput, OutputRefused } from "./output_guard.ts";

/** A file to upload. */
export interface OutputItem {
  /** Path in the sandbox. */
  path: string;
  /** Name below the job's output directory. */
  name: string;
}

/** An `OutputArchive` to build: archive name and its member files. */
export interface ArchivePlan {
  /** Archive file name, e.g. `log_archive.zip`. */
  name: string;
  /** Files that go into it. */
  members: OutputItem[];
}

/** What {@link collectOutputs} found. */
export interface CollectedOutputs {
  /** Declared `OutputFile`s present. */
  files: OutputItem[];
  /** stdout/stderr of the payload, when present and not archived. */
  logs: OutputItem[];
  /** Archives to build (members present; empty archives are skipped). */
  archives: ArchivePlan[];
  /** Declared outputs (non-glob) that are absent. */
  missing: string[];
  /** Outputs that exist but may not leave the sandbox, with the reason. */
  refused: OutputRefused[];
}

function globToRegExp(glob: string): RegExp {
  const re = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*")
    .replace(/\?/g, "[^/]");
  return new RegExp(`^${re}$`);
}

/** `found`, `absent`, or the refusal of output `name`. */
async function lookup(
  workdir: string,
  name: string,
): Promise<"found" | "absent" | OutputRefused> {
  try {
    await checkOutput(workdir, name);
    return "found";
  } catch (e) {
    if (e instanceof OutputRefused) return e;
    return "absent";
  }
}

/** Finds the outputs declared by `jdl` in `workdir`. */
export async function collectOutputs(
  jdl: JobDescription,
  workdir: string,
): Promise<CollectedOutputs> {
  const names: string[] = [];
  for await (const e of Deno.readDir(workdir)) {
    if (e.isFile || e.isSymlink) names.push(e.name);
  }
  const refused = new Map<string, OutputRefused>();
  const matching = async (pattern: string): Promise<string[]> => {
    const candidates = /[*?]/.test(pattern)
      ? names.filter((n) => globToRegExp(pattern).test(n)).sort()
      : [pattern];
    const out: string[] = [];
    for (const n of candidates) {
      const r = await lookup(workdir, n);
      if (r === "found") out.push(n);
      else if (r !== "absent") refused.set(n, r);
    }
    return out;
  };
  const item = (n: string) => ({ path: `${workdir}/${n}`, name: n });
  const files = new Map<string, OutputItem>();
  const missing: string[] = [];
  for (const o of jdl.outputFile) {
    const found = await matching(o.name);
    if (
      found.length === 0 && !/[*?]/.test(o.name) && !refused.has(o.name)
    ) missing.push(o.name);
    for (const n of found) files.set(n, item(n));
  }
  const archived = new Set<string>();
  const archives: ArchivePlan[] = [];
  for (const a of jdl.outputArchive) {
    const members = new Map<string, OutputItem>();
    for (const p of a.patterns) {
      for (const n of await matching(p)) {
        if (n !== a.archive) members.set(n, item(n));
      }
    }
    for (const n of members.keys()) archived.add(n);
    if (members.size > 0) {
      archives.push({ name: a.archive, members: [...members.values()] });
    }
  }
  const logs: OutputItem[] = [];
  for (const n of ["stdout", "stderr"]) {
    if (archived.has(n) || files.has(n)) continue;
    const r = await lookup(workdir, n);
    if (r === "found") logs.push(item(n));
    else if (r !== "absent") refused.set(n, r);
  }
  return {
    files: [...files.values()],
    logs,
    archives,
    missing,
    refused: [...refused.values()],
  };
}

/** Builds the planned archives in the sandbox; returns them as outputs. */
export async function buildArchives(
  plans: ArchivePlan[],
  workdir: string,
  log: (line: string) => void,
): Promise<OutputItem[]> {
  const out: OutputItem[] = [];
  for (const plan of plans) {
    const path = `${workdir}/${plan.name}`;
    await Deno.remove(path).catch(() => {});
    // Checked again right before reading: the payload's leftovers may
    // have swapped a member since collection.
    const members = [];
    for (const m of plan.members) {
      try {
        await checkOutput(workdir, m.name);
        members.push(m);
      } catch (e) {
        log(`not archived: ${(e as Error).message}`);
      }
    }
    const r = await writeZip(path, members);
    log(`archived ${r.entries} file(s) into ${plan.name} (${r.bytes} bytes)`);
    out.push({ path, name: plan.name });
  }
  return out;
}

async function sha256File(workdir: string, name: string): Promise<string> {
  const hash = await sha256();
  const file = await openOutput(workdir, name);
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.hex();
}

/** The sandbox an item lives in (its path without its name). */
function workdirOf(item: OutputItem): string {
  return item.path.slice(0, item.path.length - item.name.length - 1);
}

/**
 * Uploads `items` with the job token under `/<owner>/jobs/<jobId>/`,
 * each with its SHA-256.
 *
 * @example
 * ```ts ignore
 * import { buildArchives, collectOutputs, uploadOutputs } from "./upload_outputs.ts";
 * const found = await collectOutputs(jdl, "/workdir");
 * const archives = await buildArchives(found.archives, "/workdir", console.error);
 * const items = [...found.files, ...found.logs, ...archives];
 * await uploadOutputs(broker, start, items, console.error);
 * ```
 */
export async function uploadOutputs(
  broker: BrokerClient,
  start: StartMessage,
  items: OutputItem[],
  log: (line: string) => void,
): Promise<void> {
  for (const item of items) {
    const workdir = workdirOf(item);
    const sha = await sha256File(workdir, item.name);
    const lfn = `/${start.user}/jobs/${start.jobId}/${item.name}`;
    // Resent through a broker outage like the state reports: an output
    // lost there would turn a good job into ERROR_SV.
    const sent = await resend(async () => {
      // Checked again at each try: the guard opens only what it checked.
      const file = await openOutput(workdir, item.name);
      try {
        return await broker.upload(lfn, file.readable, sha);
      } catch (e) {
        try {
          file.close();
        } catch { /* the stream closed it */ }
        throw e;
      }
    }, {
      // A file the guard refuses, or one gone, stays so: no resending.
      permanent: (e) =>
        e instanceof OutputRefused || e instanceof Deno.errors.NotFound,
      onRetry: (e, n) =>
        n === 1 &&
        log(`upload of ${item.name} failed, resending: ${e.message}`),
    });
    if (sent.kind !== "acked") throw sent.error;
    log(`uploaded ${item.name} → ${lfn} (${sent.value.size} bytes)`);
  }
}
