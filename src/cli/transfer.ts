/**
 * File transfers of the user commands (`get`, `put`, `cat`): streaming with
 * a SHA-256 computed on the way, progress for large files, and one check
 * against what the broker says.
 *
 * @example
 * ```ts
 * const got = await downloadFile(client, "/jdoe/demo/input.txt", "input.txt", io);
 * console.log(got.sha256);
 * ```
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { BrokerClient } from "../client/broker_client.ts";
import { CliFailure, type CliIo, CONSOLE_IO, EXIT } from "./cli_io.ts";
import { formatBytes } from "./_user_cli.ts";

/** Files at least this big show progress. */
export const PROGRESS_MIN_BYTES = 1024 * 1024;

/** A file as the broker lists it. */
export interface FileView {
  /** Logical file name. */
  lfn: string;
  /** Bytes. */
  size: number;
  /** SHA-256, hex. */
  sha256: string;
}

/** Where one downloaded file went. */
export interface Downloaded extends FileView {
  /** Local path. */
  path: string;
}

/** Joins path pieces with exactly one `/` between them. */
export function joinPath(dir: string, rel: string): string {
  if (dir === "" || dir === ".") return rel;
  return `${dir.replace(/\/+$/, "")}/${rel.replace(/^\/+/, "")}`;
}

/** Checks an LFN argument: absolute, no empty, `.` or `..` segments. */
export function lfnArg(lfn: string): string {
  const parts = lfn.split("/").slice(1);
  if (
    !lfn.startsWith("/") || parts.some((p) => p === "." || p === "..") ||
    // deno-lint-ignore no-control-regex
    /[\x00-\x1f]/.test(lfn)
  ) {
    throw new CliFailure(
      EXIT.usage,
      `LFN "${lfn}": expected an absolute logical file name such as /jdoe/demo/input.txt`,
      "usage",
    );
  }
  return lfn;
}

/** Progress lines: rewritten in place on a terminal, else every 25 %. */
export function progress(
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

/** A stream that hashes and counts what passes, reporting progress. */
function meter(
  hash: ReturnType<typeof createHash>,
  show?: (done: number) => void,
): TransformStream<Uint8Array, Uint8Array> & { done(): number } {
  let done = 0;
  const t = new TransformStream<Uint8Array, Uint8Array>({
    start: () => show?.(0),
    transform(chunk, ctl) {
      hash.update(chunk);
      done += chunk.byteLength;
      show?.(done);
      ctl.enqueue(chunk);
    },
  });
  return Object.assign(t, { done: () => done });
}

/**
 * Downloads `lfn` into `path` (through `path.part`, renamed when the
 * SHA-256 matches the broker's), or to `sink` when given (`cat`).
 */
export async function downloadFile(
  client: BrokerClient,
  lfn: string,
  path: string | WritableStream<Uint8Array>,
  io: CliIo,
  listed?: FileView,
): Promise<Downloaded> {
  const res = await client.download(lfn);
  const expect = res.headers.get("x-sha256") ?? listed?.sha256;
  const size = Number(res.headers.get("content-length") ?? listed?.size ?? 0);
  const label = typeof path === "string" ? path : lfn;
  const show = size >= PROGRESS_MIN_BYTES && typeof path === "string"
    ? progress(io, label, size)
    : undefined;
  const hash = createHash("sha256");
  const m = meter(hash, show);
  const part = typeof path === "string" ? `${path}.part` : undefined;
  if (part) {
    const file = await Deno.open(part, {
      write: true,
      create: true,
      truncate: true,
    });
    await res.body!.pipeThrough(m).pipeTo(file.writable);
  } else {
    await res.body!.pipeThrough(m).pipeTo(
      path as WritableStream<Uint8Array>,
      { preventClose: true },
    );
  }
  const sha256 = hash.digest("hex");
  const done = m.done();
  if (
    sha256 !== expect || (listed && (sha256 !== listed.sha256 ||
      done !== listed.size))
  ) {
    if (part) await Deno.remove(part).catch(() => {});
    throw new CliFailure(
      EXIT.failure,
      `${lfn}: checksum mismatch: got ${done} bytes with sha-256 ${sha256}, the broker says ${
        listed?.size ?? size
      } bytes with ${expect}`,
      "checksum_mismatch",
    );
  }
  if (part) await Deno.rename(part, path as string);
  return { lfn, path: label, size: done, sha256 };
}

/** Hashes a local file (streaming). */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  const file = await Deno.open(path);
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

/**
 * Uploads `path` to `lfn`: hashes it first, sends the hash so the broker
 * refuses a corrupted body, and checks the broker's answer.
 */
export async function uploadFile(
  client: BrokerClient,
  path: string,
  lfn: string,
  io: CliIo,
): Promise<FileView> {
  const stat = await Deno.stat(path);
  if (!stat.isFile) {
    throw new CliFailure(EXIT.usage, `${path}: not a regular file`, "usage");
  }
  const expect = await sha256File(path);
  const show = stat.size >= PROGRESS_MIN_BYTES
    ? progress(io, path, stat.size)
    : undefined;
  const hash = createHash("sha256");
  const file = await Deno.open(path);
  const body = file.readable.pipeThrough(meter(hash, show));
  const out = await client.upload(lfn, body, expect);
  const sent = hash.digest("hex");
  if (sent !== expect || out.sha256 !== expect) {
    throw new CliFailure(
      EXIT.failure,
      `${path} → ${lfn}: checksum mismatch (file ${expect}, sent ${sent}, broker stored ${out.sha256}); did the file change while uploading?`,
      "checksum_mismatch",
    );
  }
  return { lfn: out.lfn, size: out.size, sha256: out.sha256 };
}
