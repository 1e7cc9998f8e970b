/**
 * `submit FILE arg…`: filling `$1…$N` in a JDL's text, as JAliEn does.
 *
 * @module
 */
import { errorAt, hasControl } from "./_position.ts";
import { JdlError } from "./error.ts";

/** Most arguments a submission may carry. */
export const MAX_ARGUMENTS = 256;

/**
 * Replaces every `$N` (N = 1, 2, …, not followed by another digit) outside
 * comment lines with the N-th argument, anywhere in the text: inside
 * strings, paths (`000$1`) and `Split` ranges alike, as JAliEn's
 * `applyJDLArguments` does. Lines whose first non-blank character is `#`
 * are comments there and are left alone. A replaced value is never
 * scanned again, so an argument holding `$2` stays as typed.
 *
 * An argument may not contain `"`, `\` or control characters: it lands
 * inside string literals, and such characters would change the JDL's
 * structure rather than fill a value.
 *
 * @throws {JdlError} at the first `$N` with no N-th argument
 *   ("the JDL uses argument $3 but 2 were given"), or for a bad argument.
 *
 * @example
 * ```ts
 * import { applyArguments } from "./arguments.ts";
 * applyArguments('InputFile = {"LF:/a/000$1/x"};', ["245"]);
 * // 'InputFile = {"LF:/a/000245/x"};'
 * ```
 */
export function applyArguments(text: string, args: readonly string[]): string {
  if (args.length > MAX_ARGUMENTS) {
    throw new JdlError(
      1,
      1,
      `expected at most ${MAX_ARGUMENTS} arguments, found ${args.length}`,
    );
  }
  args.forEach((a, n) => {
    if (/["\\]/.test(a) || hasControl(a)) {
      throw new JdlError(
        1,
        1,
        `expected argument $${
          n + 1
        } without quotes, backslashes or control characters, found ${
          JSON.stringify(a)
        }`,
      );
    }
  });
  let out = "";
  let lineStart = 0;
  while (lineStart <= text.length) {
    const nl = text.indexOf("\n", lineStart);
    const end = nl === -1 ? text.length : nl + 1;
    const line = text.slice(lineStart, end);
    if (/^\s*#/.test(line)) {
      out += line;
    } else {
      out += line.replace(/\$(\d+)(?!\d)/g, (whole, digits, at: number) => {
        const i = Number(digits);
        if (i === 0) return whole;
        if (i > args.length) {
          throw errorAt(
            text,
            lineStart + at,
            `expected an argument for $${i}: the JDL uses it but ${args.length} ${
              args.length === 1 ? "was" : "were"
            } given (submit FILE arg1 arg2 …)`,
          );
        }
        return args[i - 1];
      });
    }
    if (nl === -1) break;
    lineStart = end;
  }
  return out;
}
