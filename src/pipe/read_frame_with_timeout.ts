/**
 * Waiting a bounded time for the next frame.
 *
 * @module
 */
import type { Frame } from "./frame_type.ts";
import { ProtocolError } from "./protocol_error.ts";

// A read that timed out is still pending on the iterator; the next call
// takes it over so the frame it brings is not lost.
const pending = new WeakMap<
  AsyncIterator<Frame>,
  Promise<IteratorResult<Frame>>
>();

/**
 * Returns the next frame of `iter`, or `undefined` if the stream ended.
 *
 * On timeout the read stays pending and the next call on the same iterator
 * continues it, so no frame is dropped. The timer is always cleared. To give
 * up on the stream instead, end its source (e.g. kill the child): an
 * iterator's `return()` waits behind the pending read.
 *
 * @param what names the expected frame for the error, e.g. `"hello"`.
 * @throws {ProtocolError} `no ${what} frame within ${ms} ms` on timeout.
 * @throws {RangeError} if `ms` is negative or not finite.
 *
 * @example
 * ```ts ignore
 * import { readFrames } from "./read_frames.ts";
 * import { readFrameWithTimeout } from "./read_frame_with_timeout.ts";
 *
 * const frames = readFrames(child.stdout);
 * const hello = await readFrameWithTimeout(frames, 10_000, "hello");
 * ```
 */
export async function readFrameWithTimeout(
  iter: AsyncIterator<Frame>,
  ms: number,
  what: string,
): Promise<Frame | undefined> {
  if (!Number.isFinite(ms) || ms < 0) {
    throw new RangeError(
      `timeout must be a finite number of ms >= 0, got ${ms}`,
    );
  }
  const next = pending.get(iter) ?? iter.next();
  pending.delete(iter);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), ms);
  });
  try {
    const result = await Promise.race([next, timedOut]);
    if (result === null) {
      pending.set(iter, next);
      // The caller may never read again; don't let a late failure go
      // unhandled. A later call still sees it through `next`.
      next.catch(() => {});
      throw new ProtocolError(`no ${what} frame within ${ms} ms`);
    }
    return result.done ? undefined : result.value;
  } finally {
    clearTimeout(timer);
  }
}
