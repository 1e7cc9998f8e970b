/**
 * The wrapper's per-job `--allow-run` hand-off (`SANDBOX/.splitpilot/
 * allow-run`): one line of JSON, an array of absolute program paths.
 *
 * JSON escapes every control character (a newline is `\n`, NUL is
 * `\u0000`), so no value can add a line or an entry; the launcher accepts
 * only the plain subset (no escapes, no commas, printable characters) and
 * refuses anything else rather than guess. This module refuses the same
 * entries before it writes the file.
 *
 * @example
 * ```ts
 * import { encodeAllowRun } from "./allow_run_list.ts";
 * encodeAllowRun(["/bin/true", "/usr/bin/env"]); // '["/bin/true","/usr/bin/env"]\n'
 * ```
 *
 * @module
 */

/** Why a program path cannot go into the list; undefined when it can. */
export function allowRunProblem(path: string): string | undefined {
  if (!path.startsWith("/")) return "not an absolute path";
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(path)) return "contains a control character";
  if (path.includes(",")) return "contains a comma";
  if (/["\\]/.test(path)) return "contains a quote or a backslash";
  return undefined;
}

/** The file's text for `programs`; throws a one-line TypeError on a bad one. */
export function encodeAllowRun(programs: readonly string[]): string {
  for (const p of programs) {
    const why = allowRunProblem(p);
    if (why) {
      throw new TypeError(
        `allow-run entry ${
          JSON.stringify(p)
        } ${why}; expected a plain absolute path`,
      );
    }
  }
  return JSON.stringify(programs) + "\n";
}
