/**
 * Content-addressed blob storage for the file store (DESIGN §9).
 *
 * An upload streams to a temp file while hashing, is fsynced, then renamed
 * to `blobs/<sha[0..2]>/<sha>`: a crash mid-upload leaves only a temp file,
 * never a half-written blob under a name the catalogue points to.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { HttpError } from "./errors.ts";

/** Bytes written between yields to the event loop. */
const YIELD_EVERY = 256 * 1024;

/** Result of a stored upload. */
export interface StoredBlob {
  /** SHA-256, lowercase hex. */
  sha256: string;
  /** Size in bytes. */
  size: number;
}

/** Options of {@link BlobStore.write}. */
export interface WriteOptions {
  /** Refuse (413) past this many bytes. @default 4 GiB */
  maxBytes?: number;
  /** If given, the upload must hash to this (else 400, nothing stored). */
  expectSha256?: string;
}

/** Blobs under one directory. */
export class BlobStore {
  #dir: string;
  #seq = 0;

  /** Uses (and creates) `dir`. */
  constructor(dir: string) {
    this.#dir = dir;
    Deno.mkdirSync(`${dir}/tmp`, { recursive: true });
    Deno.mkdirSync(`${dir}/blobs`, { recursive: true });
  }

  /**
   * Removes every temp file: call once at start, before any upload, so
   * uploads cut off by a crash leave nothing behind. Returns how many.
   */
  async removeTemp(): Promise<number> {
    let n = 0;
    for await (const e of Deno.readDir(`${this.#dir}/tmp`)) {
      await Deno.remove(`${this.#dir}/tmp/${e.name}`, { recursive: true })
        .then(() => n++, () => {});
    }
    return n;
  }

  /** Path of a blob by hash. */
  path(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) {
      throw new TypeError(`not a sha-256 hex digest: ${sha256}`);
    }
    return `${this.#dir}/blobs/${sha256.slice(0, 2)}/${sha256}`;
  }

  /** Streams `body` into the store. */
  async write(
    body: ReadableStream<Uint8Array>,
    opts: WriteOptions = {},
  ): Promise<StoredBlob> {
    const max = opts.maxBytes ?? 4 * 1024 ** 3;
    const tmp = `${this.#dir}/tmp/${Date.now()}-${Deno.pid}-${++this.#seq}`;
    const file = await Deno.open(tmp, {
      write: true,
      createNew: true,
      mode: 0o600,
    });
    const hash = createHash("sha256");
    let size = 0;
    let yielded = 0;
    try {
      for await (const chunk of body) {
        size += chunk.byteLength;
        if (size > max) {
          throw new HttpError(
            413,
            "too_large",
            `upload exceeds the ${max}-byte limit`,
          );
        }
        hash.update(chunk);
        let off = 0;
        while (off < chunk.byteLength) {
          off += await file.write(chunk.subarray(off));
        }
        if (size - yielded >= YIELD_EVERY) {
          // Let queued requests run: a fast upload otherwise keeps the
          // event loop busy with microtasks between its writes.
          yielded = size;
          await new Promise((r) => setTimeout(r, 0));
        }
      }
      await file.sync();
      file.close();
      const sha256 = hash.digest("hex");
      if (opts.expectSha256 && opts.expectSha256 !== sha256) {
        throw new HttpError(
          400,
          "checksum_mismatch",
          `upload hashes to ${sha256}, expected ${opts.expectSha256}`,
        );
      }
      const dest = this.path(sha256);
      await Deno.mkdir(dest.slice(0, dest.lastIndexOf("/")), {
        recursive: true,
      });
      await Deno.rename(tmp, dest);
      return { sha256, size };
    } catch (e) {
      try {
        file.close();
      } catch { /* already closed */ }
      await Deno.remove(tmp).catch(() => {});
      throw e;
    }
  }

  /** Opens a blob for streaming. */
  async open(sha256: string): Promise<ReadableStream<Uint8Array>> {
    const file = await Deno.open(this.path(sha256), { read: true });
    return file.readable;
  }
}
