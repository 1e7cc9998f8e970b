/**
 * The gzipped Deno runtime every offline artefact carries, compressed once
 * per runtime binary and kept in a cache directory: compressing ~95 MB
 * takes seconds, and tests build artefacts for many broker addresses.
 *
 * @module
 */
import { createHash } from "node:crypto";

/** A compressed runtime in the cache. */
export interface CachedRuntime {
  /** Path of the `.gz` file. */
  path: string;
  /** SHA-256 of the `.gz` file (hex). */
  sha256: string;
  /** Size of the `.gz` file. */
  size: number;
  /** Size of the runtime itself. */
  runtimeSize: number;
}

/**
 * Returns the gzipped copy of `deno` from `cacheDir`, creating it if
 * needed. The cache key is the binary's size and mtime; a concurrent
 * builder writes its own temp file and renames, so readers never see half
 * a file.
 */
export async function cachedRuntime(
  deno: string,
  cacheDir: string,
): Promise<CachedRuntime> {
  const st = await Deno.stat(deno);
  const key = `deno-${st.size}-${st.mtime?.getTime() ?? 0}`;
  const path = `${cacheDir}/${key}.gz`;
  const shaPath = `${path}.sha256`;
  try {
    const sha256 = (await Deno.readTextFile(shaPath)).trim();
    const gz = await Deno.stat(path);
    if (/^[0-9a-f]{64}$/.test(sha256)) {
      return { path, sha256, size: gz.size, runtimeSize: st.size };
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  await Deno.mkdir(cacheDir, { recursive: true });
  const tmp = `${path}.tmp-${crypto.randomUUID()}`;
  const hash = createHash("sha256");
  let size = 0;
  try {
    const src = await Deno.open(deno, { read: true });
    const out = await Deno.open(tmp, { write: true, createNew: true });
    await src.readable
      .pipeThrough(new CompressionStream("gzip"))
      .pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, ctl) {
            hash.update(chunk);
            size += chunk.byteLength;
            ctl.enqueue(chunk);
          },
        }),
      )
      .pipeTo(out.writable);
    const sha256 = hash.digest("hex");
    await Deno.rename(tmp, path);
    await Deno.writeTextFile(`${tmp}.sha256`, `${sha256}\n`);
    await Deno.rename(`${tmp}.sha256`, shaPath);
    return { path, sha256, size, runtimeSize: st.size };
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}
