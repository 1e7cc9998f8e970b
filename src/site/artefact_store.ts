/**
 * The broker's read-only shelf of built artefacts, `<state>/artefacts/`,
 * from which sites' startup scripts fetch the agent and the wrapper
 * (`GET /api/v1/artefacts/<name>` with a JOB_AGENT token), and the step
 * that puts a build there.
 *
 * @module
 */
import { createHash } from "node:crypto";

/** Directory below the broker's state dir that holds the artefacts. */
export const ARTEFACTS_DIR = "artefacts";

/** A name on the shelf: one path segment, no dot first. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** An artefact opened for download. */
export interface ArtefactFile {
  /** The bytes. */
  body: ReadableStream<Uint8Array>;
  /** Size in bytes. */
  size: number;
  /** SHA-256 (hex). */
  sha256: string;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  const f = await Deno.open(path, { read: true });
  for await (const chunk of f.readable) hash.update(chunk);
  return hash.digest("hex");
}

/** Serves files from one directory; every name is checked. */
export class ArtefactStore {
  #dir: string;
  #sums = new Map<string, { key: string; sha256: string }>();

  /** Serves `dir` (it need not exist yet). */
  constructor(dir: string) {
    this.#dir = dir;
  }

  /** Whether `name` is an acceptable artefact name. */
  static validName(name: string): boolean {
    return NAME.test(name) && !name.includes("..");
  }

  /**
   * Opens `name`, or returns `undefined` when there is no such artefact
   * (including names that are not one plain path segment, and symlinks).
   */
  async open(name: string): Promise<ArtefactFile | undefined> {
    if (!ArtefactStore.validName(name)) return undefined;
    const path = `${this.#dir}/${name}`;
    let st: Deno.FileInfo;
    try {
      st = await Deno.lstat(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw e;
    }
    if (!st.isFile) return undefined;
    // Checksums are cached per file version; a republished file is rehashed.
    const key = `${st.size}:${st.mtime?.getTime() ?? 0}`;
    let sum = this.#sums.get(name);
    if (sum?.key !== key) {
      sum = { key, sha256: await sha256File(path) };
      this.#sums.set(name, sum);
    }
    const file = await Deno.open(path, { read: true });
    return { body: file.readable, size: st.size, sha256: sum.sha256 };
  }

  /** The sha-256 of `name`, or `undefined` when it is not published. */
  async sha256(name: string): Promise<string | undefined> {
    const file = await this.open(name);
    if (!file) return undefined;
    await file.body.cancel();
    return file.sha256;
  }
}

/** One published artefact. */
export interface PublishedArtefact {
  /** File name on the shelf. */
  name: string;
  /** SHA-256 (hex). */
  sha256: string;
  /** Size in bytes. */
  size: number;
}

/**
 * Copies the packed artefacts of a build (`splitpilot-*.run` with their
 * `.sha256` files) from `distDir` to `<stateDir>/artefacts/`, checking
 * each checksum; a file is replaced atomically (temp file, rename).
 */
export async function publishArtefacts(
  distDir: string,
  stateDir: string,
): Promise<PublishedArtefact[]> {
  const shelf = `${stateDir}/${ARTEFACTS_DIR}`;
  await Deno.mkdir(shelf, { recursive: true });
  const names: string[] = [];
  for await (const e of Deno.readDir(distDir)) {
    if (e.isFile && /^splitpilot-[a-z]+\.run$/.test(e.name)) names.push(e.name);
  }
  if (names.length === 0) {
    throw new Error(
      `no artefacts (splitpilot-*.run) in ${distDir}; run: deno task build --broker HOST:PORT --out ${distDir}`,
    );
  }
  const out: PublishedArtefact[] = [];
  for (const name of names.sort()) {
    const src = `${distDir}/${name}`;
    const want = (await Deno.readTextFile(`${src}.sha256`)).split(/\s/)[0];
    const got = await sha256File(src);
    if (got !== want) {
      throw new Error(
        `${src}: sha-256 ${got} does not match ${name}.sha256 (${want}); rebuild it`,
      );
    }
    const tmp = `${shelf}/.${name}.tmp-${crypto.randomUUID()}`;
    await Deno.copyFile(src, tmp);
    await Deno.rename(tmp, `${shelf}/${name}`);
    await Deno.writeTextFile(`${shelf}/${name}.sha256`, `${got}  ${name}\n`);
    out.push({ name, sha256: got, size: (await Deno.stat(src)).size });
  }
  return out;
}

/** The checksum of `name` as published in `stateDir` (from its `.sha256`). */
export async function publishedSha256(
  stateDir: string,
  name: string,
): Promise<string> {
  const file = `${stateDir}/${ARTEFACTS_DIR}/${name}.sha256`;
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(
        `${name} is not published in ${stateDir}/${ARTEFACTS_DIR}; run: splitpilot site publish --state ${stateDir} --dist dist/`,
      );
    }
    throw e;
  }
  const sha = text.split(/\s/)[0];
  if (!/^[0-9a-f]{64}$/.test(sha)) {
    throw new Error(`${file}: expected a sha-256 hex digest, got "${sha}"`);
  }
  return sha;
}
