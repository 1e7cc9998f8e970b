/**
 * The one error type of the JDL module.
 *
 * @module
 */

/**
 * Raised for every problem with a JDL: syntax errors, bad values, limits.
 *
 * The message always has the form `line L, column C: <detail>`, where the
 * detail is `expected X, found Y` for syntax errors.
 *
 * @example Catching a syntax error
 * ```ts
 * import { JdlError, parseJdl } from "./mod.ts";
 * try {
 *   parseJdl('Executable = "/bin/true"\nTTL = ;');
 * } catch (e) {
 *   if (e instanceof JdlError) console.log(e.line, e.column, e.message);
 * }
 * ```
 */
export class JdlError extends Error {
  /** 1-based line of the offending text. */
  readonly line: number;
  /** 1-based column (in Unicode code points) of the offending text. */
  readonly column: number;
  /** The message without the `line L, column C: ` prefix. */
  readonly detail: string;

  /** Builds `line L, column C: detail`. */
  constructor(line: number, column: number, detail: string) {
    super(`line ${line}, column ${column}: ${detail}`);
    this.name = "JdlError";
    this.line = line;
    this.column = column;
    this.detail = detail;
  }
}
