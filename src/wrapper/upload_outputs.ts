/**
 * Output collection and upload: declared `OutputFile` names and globs,
 * plus the payload's stdout/stderr, go to `/<owner>/jobs/<jobId>/`.
 *
 * Only regular files inside the sandbox are uploaded: a symlink (which
 * could point out of the sandbox) is refused.
 *
 * @module
 */
import { sha256 } from "./_sha256_stream.ts";
import type { BrokerClient } from "../client/broker_client.ts";
import type { JobDescription } from "../jdl/mod.ts";
import type { StartMessage } from "../protocol/mod.ts";
import { writeZip } from "./zip_writer.ts";

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
}

function globToRegExp(glob: string): RegExp {
  const re = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*")
    .replace(/\?/g, "[^/]");
  return new RegExp(`^${re}$`);
}

async function regularFile(path: string): Promise<boolean> {
  try {
    const st = await Deno.lstat(path);
    return st.isFile;
  } catch {
    return false;
  }
}

/** Finds the outputs declared by `jdl` in `workdir`. */
export async function collectOutputs(
  jdl: JobDescription,
  workdir: string,
): Promise<CollectedOutputs> {
  const names: string[] = [];
  for await (const e of Deno.readDir(workdir)) if (e.isFile) names.push(e.name);
  const matching = async (pattern: string): Promise<string[]> => {
    if (/[*?]/.test(pattern)) {
      const re = globToRegExp(pattern);
      return names.filter((n) => re.test(n)).sort();
    }
    return (await regularFile(`${workdir}/${pattern}`)) ? [pattern] : [];
  };
  const item = (n: string) => ({ path: `${workdir}/${n}`, name: n });
  const files = new Map<string, OutputItem>();
  const missing: string[] = [];
  for (const o of jdl.outputFile) {
    const found = await matching(o.name);
    if (found.length === 0 && !/[*?]/.test(o.name)) missing.push(o.name);
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
    if (
      !archived.has(n) && !files.has(n) && await regularFile(`${workdir}/${n}`)
    ) {
      logs.push(item(n));
    }
  }
  return { files: [...files.values()], logs, archives, missing };
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
    const r = await writeZip(path, plan.members);
    log(`archived ${r.entries} file(s) into ${plan.name} (${r.bytes} bytes)`);
    out.push({ path, name: plan.name });
  }
  return out;
}

async function sha256File(path: string): Promise<string> {
  const hash = await sha256();
  const file = await Deno.open(path, { read: true });
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.hex();
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
    if (!(await regularFile(item.path))) {
      throw new Error(`${item.name} is not a regular file in the sandbox`);
    }
    const sha = await sha256File(item.path);
    const file = await Deno.open(item.path, { read: true });
    const lfn = `/${start.user}/jobs/${start.jobId}/${item.name}`;
    const r = await broker.upload(lfn, file.readable, sha);
    log(`uploaded ${item.name} → ${lfn} (${r.size} bytes)`);
  }
}
