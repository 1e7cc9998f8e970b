/**
 * The end of a payload is the exit of its main process, not the close of
 * its stdout: a child that keeps the pipe open (a daemon, `sleep &`) must
 * not hold the slot until the TTL kill. After the main process exits, its
 * output gets {@link HELD_OUTPUT_GRACE_MS} to drain; then the leftovers
 * are killed and reading stops, and the job ends by the exit code.
 *
 * @module
 */

/** How long output may stay open after the payload's main process exits. */
export const HELD_OUTPUT_GRACE_MS = 10_000;

/** Whether `p` settles within `ms` (it is not cancelled either way). */
export async function settlesWithin(
  p: Promise<unknown>,
  ms: number,
): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const settled = await Promise.race([
    p.then(() => true, () => true),
    new Promise<false>((r) => timer = setTimeout(() => r(false), ms)),
  ]);
  clearTimeout(timer);
  return settled;
}

/**
 * Iterates `stream` until it ends or `signal` aborts (then the stream is
 * cancelled, so a pipe a leftover holds open no longer keeps us here).
 */
export async function* readUntil(
  stream: ReadableStream<Uint8Array>,
  signal: AbortSignal,
): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  const stop = () => reader.cancel().catch(() => {});
  signal.addEventListener("abort", stop, { once: true });
  try {
    while (!signal.aborted) {
      const r = await reader.read();
      // A read that completes after the stop brings nothing more: the
      // output files must not change once they are being checked and sent.
      if (r.done || signal.aborted) return;
      yield r.value;
    }
  } finally {
    signal.removeEventListener("abort", stop);
    reader.releaseLock();
  }
}
