/**
 * A streaming ZIP writer for `OutputArchive` (e.g. `log_archive.zip`).
 *
 * Entries are deflated with the platform's `CompressionStream` and written
 * with a data descriptor (general purpose flag bit 3), so no entry is ever
 * held in memory whole. No ZIP64: an archive or entry over 4 GiB is refused
 * with a clear error rather than written corrupt.
 *
 * @module
 */

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** Updates a CRC-32 (IEEE) with `data`; start with 0. */
export function crc32(data: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) {
    c = CRC_TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  }
  return ~c >>> 0;
}

const LIMIT = 0xffffffff;

/** Thrown when an archive cannot be written. */
export class ZipError extends Error {
  /**
   * @param message names the archive and the member that could not be added.
   */
  constructor(message: string) {
    super(message);
    this.name = "ZipError";
  }
}

function dosTime(d: Date): { time: number; date: number } {
  return {
    time: (d.getHours() << 11) | (d.getMinutes() << 5) |
      Math.floor(d.getSeconds() / 2),
    date: ((Math.max(1980, d.getFullYear()) - 1980) << 9) |
      ((d.getMonth() + 1) << 5) | d.getDate(),
  };
}

/** One file to put into an archive. */
export interface ZipEntry {
  /** Name inside the archive (relative, `/`-separated). */
  name: string;
  /** Path of the file to read. */
  path: string;
}

/**
 * Writes `entries` into a new archive at `path` (must not exist), each
 * deflated as it streams from its file.
 *
 * @example
 * ```ts
 * import { writeZip } from "./zip_writer.ts";
 * const dir = await Deno.makeTempDir();
 * await Deno.writeTextFile(`${dir}/stdout`, "hello\n");
 * const r = await writeZip(`${dir}/log_archive.zip`, [
 *   { name: "stdout", path: `${dir}/stdout` },
 * ]);
 * r.entries; // 1
 * ```
 */
export async function writeZip(
  path: string,
  entries: ZipEntry[],
): Promise<{ entries: number; bytes: number }> {
  const out = await Deno.open(path, {
    write: true,
    createNew: true,
    mode: 0o644,
  });
  let offset = 0;
  const write = async (b: Uint8Array) => {
    let o = 0;
    while (o < b.length) o += await out.write(b.subarray(o));
    offset += b.length;
    if (offset > LIMIT) {
      throw new ZipError(
        `${path}: archive exceeds 4 GiB (ZIP64 not supported)`,
      );
    }
  };
  const central: Uint8Array[] = [];
  try {
    for (const e of entries) {
      const name = new TextEncoder().encode(e.name);
      const st = await Deno.stat(e.path);
      const { time, date } = dosTime(st.mtime ?? new Date());
      const headerOffset = offset;
      const local = new Uint8Array(30 + name.length);
      const lv = new DataView(local.buffer);
      lv.setUint32(0, 0x04034b50, true);
      lv.setUint16(4, 20, true); // version needed
      lv.setUint16(6, 0x0808, true); // data descriptor + UTF-8 names
      lv.setUint16(8, 8, true); // deflate
      lv.setUint16(10, time, true);
      lv.setUint16(12, date, true);
      lv.setUint16(26, name.length, true);
      local.set(name, 30);
      await write(local);
      let crc = 0;
      let size = 0;
      let csize = 0;
      const file = await Deno.open(e.path, { read: true });
      const compressed = file.readable.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, c) {
            crc = crc32(chunk, crc);
            size += chunk.length;
            c.enqueue(chunk);
          },
        }),
      ).pipeThrough(
        new CompressionStream("deflate-raw") as unknown as TransformStream<
          Uint8Array,
          Uint8Array
        >,
      );
      for await (const chunk of compressed) {
        csize += chunk.length;
        await write(chunk);
      }
      if (size > LIMIT) {
        throw new ZipError(
          `${e.name}: entry exceeds 4 GiB (ZIP64 not supported)`,
        );
      }
      const dd = new Uint8Array(16);
      const dv = new DataView(dd.buffer);
      dv.setUint32(0, 0x08074b50, true);
      dv.setUint32(4, crc, true);
      dv.setUint32(8, csize, true);
      dv.setUint32(12, size, true);
      await write(dd);
      const cd = new Uint8Array(46 + name.length);
      const cv = new DataView(cd.buffer);
      cv.setUint32(0, 0x02014b50, true);
      cv.setUint16(4, 0x0314, true); // made by: unix, 2.0
      cv.setUint16(6, 20, true);
      cv.setUint16(8, 0x0808, true);
      cv.setUint16(10, 8, true);
      cv.setUint16(12, time, true);
      cv.setUint16(14, date, true);
      cv.setUint32(16, crc, true);
      cv.setUint32(20, csize, true);
      cv.setUint32(24, size, true);
      cv.setUint16(28, name.length, true);
      cv.setUint32(38, (0o100644 << 16) >>> 0, true); // external attrs
      cv.setUint32(42, headerOffset, true);
      cd.set(name, 46);
      central.push(cd);
    }
    const cdStart = offset;
    for (const cd of central) await write(cd);
    const end = new Uint8Array(22);
    const ev = new DataView(end.buffer);
    ev.setUint32(0, 0x06054b50, true);
    ev.setUint16(8, central.length, true);
    ev.setUint16(10, central.length, true);
    ev.setUint32(12, offset - cdStart, true);
    ev.setUint32(16, cdStart, true);
    await write(end);
    return { entries: central.length, bytes: offset };
  } catch (e) {
    out.close();
    await Deno.remove(path).catch(() => {});
    throw e;
  } finally {
    try {
      out.close();
    } catch { /* closed in catch */ }
  }
}
