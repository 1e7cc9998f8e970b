/**
 * Output collection and upload: declared `OutputFile` names and globs,
 * plus the payload's stdout/stderr, go to `/<owner>/jobs/<jobId>/`.
 *
 * Only regular files inside the sandbox are uploaded: a symlink (which
 * could point out of the sandbox) is refused.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { BrokerClient } from "../client/broker_client.ts";
import type { JobDescription } from "../jdl/mod.ts";
import type { StartMessage } from "../pipe/mod.ts";

/** A file to upload. */
export interface OutputItem {
  /** Path in the sandbox. */
  path: string;
  /** Name below the job's output directory. */
  name: string;
}

/** What {@link collectOutputs} found. */
export interface CollectedOutputs {
  /** Declared outputs present. */
  files: OutputItem[];
  /** stdout/stderr of the payload, when present. */
  logs: OutputItem[];
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
  const files = new Map<string, OutputItem>();
  const missing: string[] = [];
  const patterns = [
    ...jdl.outputFile.map((o) => o.name),
    ...jdl.outputArchive.flatMap((a) => a.patterns),
  ];
  for (const pattern of patterns) {
    if (/[*?]/.test(pattern)) {
      const re = globToRegExp(pattern);
      for (const n of names) {
        if (re.test(n) && n !== "stdout" && n !== "stderr") {
          files.set(n, { path: `${workdir}/${n}`, name: n });
        }
      }
    } else if (await regularFile(`${workdir}/${pattern}`)) {
      files.set(pattern, { path: `${workdir}/${pattern}`, name: pattern });
    } else if (pattern !== "stdout" && pattern !== "stderr") {
      if (jdl.outputFile.some((o) => o.name === pattern)) missing.push(pattern);
    }
  }
  const logs: OutputItem[] = [];
  for (const n of ["stdout", "stderr"]) {
    if (await regularFile(`${workdir}/${n}`)) {
      logs.push({ path: `${workdir}/${n}`, name: n });
    }
  }
  return { files: [...files.values()], logs, missing };
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  const file = await Deno.open(path, { read: true });
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

/** Uploads `items` with the job token. */
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
