/**
 * Forwarded payload output is attacker-controlled: raw control bytes in
 * it could rewrite the operator's terminal or forge log lines. Every C0
 * and C1 control character (and DEL) becomes a visible escape; tab stays.
 *
 * @module
 */

// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * `line` with control characters as `\xNN` (`\u2028`/`\u2029` as `\uNNNN`).
 *
 * @example
 * ```ts
 * escapeControl("ok\x1b[2Jfake\rline"); // "ok\\x1b[2Jfake\\x0dline"
 * ```
 */
export function escapeControl(line: string): string {
  return line.replace(CONTROL, (c) => {
    const n = c.charCodeAt(0);
    return n > 0xff
      ? `\\u${n.toString(16).padStart(4, "0")}`
      : `\\x${n.toString(16).padStart(2, "0")}`;
  });
}
