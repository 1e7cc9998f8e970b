/**
 * Parsing and validation of ALICE-style JDL text.
 *
 * @module
 */
import type { JobDescription } from "./job_description.ts";
import { JdlError } from "./error.ts";
import { parseText } from "./_parser.ts";
import { locate } from "./_position.ts";
import type { ParseOptions } from "./parse_options.ts";
import { DEFAULT_TTL, Fields } from "./_fields.ts";

export type { JdlWarning, ParseOptions } from "./parse_options.ts";
export { valueLocation } from "./parse_options.ts";

export { DEFAULT_TTL };

/**
 * Parses and validates a JDL.
 *
 * Statements are `Key = value;` (the last `;` may be left out); keys are
 * matched ignoring case and may not repeat. Values are expressions; those
 * of known keys are evaluated without a site (so `TTL = 2 * 3600` works)
 * and checked. Unknown keys are kept in `attributes`.
 *
 * @throws {JdlError} for any bad input, with its line and column.
 *
 * @example
 * ```ts
 * import { parseJdl } from "./mod.ts";
 * const jd = parseJdl(`
 *   Executable = "/bin/sh";
 *   Arguments = "-c 'echo hi'";
 *   TTL = 7200;
 * `);
 * jd.arguments; // ["-c", "echo hi"]
 * ```
 */
export function parseJdl(
  text: string,
  opts: ParseOptions = {},
): JobDescription {
  if (typeof text !== "string") {
    throw new JdlError(1, 1, `expected JDL text, found ${typeof text}`);
  }
  const lenient = opts.strict === false;
  const found: { offset: number; message: string }[] = [];
  const warn = (offset: number, message: string) =>
    found.push({ offset, message });
  const parsed = parseText(text, { lenient, warn });
  const jd = new Fields(text, parsed, lenient, warn).build();
  if (opts.warnings) {
    found.sort((a, b) => a.offset - b.offset);
    for (const w of found) {
      opts.warnings.push({ ...locate(text, w.offset), message: w.message });
    }
  }
  return jd;
}
