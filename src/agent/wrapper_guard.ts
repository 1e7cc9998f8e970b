/**
 * Checks on the agent's wrapper options that keep the agent's own write
 * grant from reaching the program it runs: a `--wrapper` under the work
 * root (which the agent, and under `none` a payload, may write) could be
 * swapped for a `-A` launcher, and a `--wrapper-audit` file would be
 * truncated by the wrapper's runtime wherever it points.
 *
 * @example
 * ```ts
 * import { checkWrapperDir } from "./wrapper_guard.ts";
 * checkWrapperDir("/site/rt/wrapper", ["/site/work"]); // ok
 * checkWrapperDir("/site/work/w", ["/site/work"]); // throws TypeError
 * ```
 *
 * @module
 */

function real(path: string): string {
  try {
    return Deno.realPathSync(path);
  } catch {
    return path.replace(/\/+$/, "") || "/";
  }
}

const within = (p: string, dir: string) =>
  p === dir || p.startsWith(dir.endsWith("/") ? dir : `${dir}/`);

/** Throws when `wrapperDir` lies in (or contains) a writable directory. */
export function checkWrapperDir(
  wrapperDir: string,
  writable: readonly string[],
): void {
  const w = real(wrapperDir);
  for (const d of writable) {
    const r = real(d);
    if (within(w, r) || within(r, w)) {
      throw new TypeError(
        `--wrapper ${wrapperDir}: lies in ${d}, which the agent may write; expected a directory outside the work root (e.g. W/rt/wrapper)`,
      );
    }
  }
}

/**
 * Throws unless `path` (as the wrapper sees it) is `/dev/stderr`,
 * `/dev/stdout` or `/dev/null`: the wrapper's one writable directory is
 * its sandbox, which is different for every job.
 */
export function checkWrapperAudit(path: string): void {
  if (!["/dev/stderr", "/dev/stdout", "/dev/null"].includes(path)) {
    throw new TypeError(
      `--wrapper-audit ${path}: expected /dev/stderr (the wrapper may write only its sandbox)`,
    );
  }
}
