/**
 * Throughput of the framed pipe against plain `cat`.
 *
 * Run `deno run --allow-run --allow-read bench/pipe_throughput.ts [bytes]
 * [frameSize] [rounds]` to print the numbers (best of 3 rounds by default).
 *
 * @module
 */
import { FrameType } from "../src/pipe/frame_type.ts";
import { FrameWriter } from "../src/pipe/frame_writer.ts";
import { readFrames } from "../src/pipe/read_frames.ts";

/** Options for {@linkcode benchPipe}. */
export interface BenchPipeOptions {
  /**
   * Bytes to push through each pipe.
   *
   * @default {1073741824} (1 GiB)
   */
  bytes?: number;
  /**
   * Payload bytes per frame, and bytes per write to `cat`.
   *
   * @default {1048576} (1 MiB)
   */
  frameSize?: number;
  /**
   * Runs of each pipe, alternating; the best rate of each is reported, which
   * damps noise from other work on the machine.
   *
   * @default {1}
   */
  rounds?: number;
}

/** Throughputs in MB/s (10^6 bytes per second of wall time). */
export interface BenchPipeResult {
  /** Frames of raw bytes to a child that decodes and re-encodes them, and back. */
  oursMBps: number;
  /** The same bytes to `cat` and back, through the same kind of pipe. */
  catMBps: number;
  /** `oursMBps / catMBps`. */
  ratio: number;
}

/**
 * Pushes `bytes` in frames through a child (`deno run` of `pipe_echo.ts`,
 * no permissions) that echoes each frame back, reading concurrently; then,
 * as the baseline, the same bytes through `cat`. Process start-up is not
 * timed: each pipe is primed with a small round trip first.
 *
 * Needs `--allow-run` (for `deno` and `cat`) and `--allow-read` where the
 * module is not a local file.
 *
 * @throws {Error} if a child fails or returns a different byte count.
 */
export async function benchPipe(
  opts: BenchPipeOptions = {},
): Promise<BenchPipeResult> {
  const bytes = opts.bytes ?? 1024 * 1024 * 1024;
  const frameSize = opts.frameSize ?? 1024 * 1024;
  if (!Number.isSafeInteger(bytes) || bytes < 1) {
    throw new RangeError(`bytes must be a positive integer, got ${bytes}`);
  }
  if (!Number.isSafeInteger(frameSize) || frameSize < 1) {
    throw new RangeError(
      `frameSize must be a positive integer, got ${frameSize}`,
    );
  }
  const rounds = opts.rounds ?? 1;
  if (!Number.isSafeInteger(rounds) || rounds < 1) {
    throw new RangeError(`rounds must be a positive integer, got ${rounds}`);
  }
  const block = new Uint8Array(frameSize);
  for (let i = 0; i < block.length; i++) block[i] = (i * 7 + 3) & 0xff;
  let catMBps = 0;
  let oursMBps = 0;
  for (let k = 0; k < rounds; k++) {
    catMBps = Math.max(catMBps, await throughCat(bytes, block));
    oursMBps = Math.max(oursMBps, await throughEcho(bytes, block));
  }
  return { oursMBps, catMBps, ratio: oursMBps / catMBps };
}

function* blocks(bytes: number, block: Uint8Array): Generator<Uint8Array> {
  for (let left = bytes; left > 0; left -= block.length) {
    yield left >= block.length ? block : block.subarray(0, left);
  }
}

function mbps(bytes: number, start: number): number {
  return bytes / 1e6 / ((performance.now() - start) / 1000);
}

async function throughCat(bytes: number, block: Uint8Array): Promise<number> {
  const child = new Deno.Command("cat", {
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = child.stdin.getWriter();
  const reader = child.stdout.getReader();
  await writer.write(new Uint8Array(1));
  let primed = 0;
  while (primed < 1) {
    const { value, done } = await reader.read();
    if (done) throw new Error("cat closed its stdout before the first byte");
    primed += value.length;
  }
  const start = performance.now();
  const writing = (async () => {
    for (const b of blocks(bytes, block)) await writer.write(b);
    await writer.close();
  })();
  let got = primed - 1;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    got += value.length;
  }
  const result = mbps(got, start);
  await writing;
  await checkExit("cat", child, got, bytes);
  return result;
}

async function throughEcho(bytes: number, block: Uint8Array): Promise<number> {
  const echo = new URL("../tests/fixtures/pipe_echo.ts", import.meta.url).href;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--no-prompt", "--no-config", echo],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const writer = new FrameWriter(child.stdin);
  const frames = readFrames(child.stdout);
  await writer.sendBytes(FrameType.Log, new Uint8Array(1));
  const first = await frames.next();
  if (first.done) throw new Error("the echo child closed its stdout early");
  const start = performance.now();
  const writing = (async () => {
    for (const b of blocks(bytes, block)) {
      await writer.sendBytes(FrameType.Log, b);
    }
    await writer.close();
  })();
  let got = 0;
  for await (const frame of frames) {
    const p = frame.payload;
    // A spot check; the tests compare every byte.
    if (
      frame.type !== FrameType.Log || p.length === 0 ||
      p[0] !== block[0] || p[p.length - 1] !== block[p.length - 1]
    ) {
      throw new Error(
        `the echo child sent back a different frame (type ${frame.type}, ${p.length} bytes)`,
      );
    }
    got += p.length;
  }
  const result = mbps(got, start);
  await writing;
  await checkExit("the echo child", child, got, bytes);
  return result;
}

async function checkExit(
  what: string,
  child: Deno.ChildProcess,
  got: number,
  want: number,
): Promise<void> {
  const status = await child.status;
  if (!status.success) throw new Error(`${what} exited with ${status.code}`);
  if (got !== want) {
    throw new Error(`${what} returned ${got} bytes, expected ${want}`);
  }
}

if (import.meta.main) {
  const [bytes, frameSize, rounds] = Deno.args.map(Number);
  const r = await benchPipe({
    bytes: bytes || undefined,
    frameSize: frameSize || undefined,
    rounds: rounds || 3,
  });
  console.log(
    `ours ${r.oursMBps.toFixed(0)} MB/s, cat ${
      r.catMBps.toFixed(0)
    } MB/s, ratio ${r.ratio.toFixed(2)}`,
  );
}
