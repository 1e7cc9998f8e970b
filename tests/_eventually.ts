/**
 * Waiting for a condition instead of sleeping a fixed time: timer-driven
 * code under test gets as long as a loaded CI machine needs, and a fast
 * machine does not wait at all. A test that uses it still fails (after the
 * generous deadline) when the condition never holds.
 *
 * @module
 */

/**
 * Polls `ok` every `everyMs` until it holds; throws naming `what` after
 * `ms` (default 30 s, far beyond any scheduling delay on a busy 2-core box).
 *
 * @example
 * ```ts ignore
 * await eventually("a sent batch", () => sent.length === 1);
 * ```
 */
export async function eventually(
  what: string,
  ok: () => boolean | Promise<boolean>,
  ms = 30_000,
  everyMs = 5,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) {
      throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
