/**
 * A bounded wait: the end of a job must not hang on a broker or a sampler
 * that stopped answering (each has its own error path).
 *
 * @module
 */

/**
 * Waits for `p` at most `ms`; never rejects.
 *
 * @example
 * ```ts
 * await capped(new Promise(() => {}), 10); // returns after 10 ms
 * ```
 */
export async function capped(
  p: Promise<unknown> | undefined,
  ms = 15_000,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    p?.catch(() => {}),
    new Promise((r) => timer = setTimeout(r, ms)),
  ]);
  clearTimeout(timer);
}
