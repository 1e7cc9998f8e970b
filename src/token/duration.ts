/**
 * Token lifetimes as people write them.
 *
 * @module
 */
import { TokenError } from "./token_error.ts";

const UNIT_SECONDS: Readonly<Record<string, number>> = {
  "": 1,
  s: 1,
  m: 60,
  h: 3600,
  d: 86400,
  w: 604800,
};

/**
 * Parses a duration: a positive whole number with an optional unit
 * `s`, `m`, `h`, `d` or `w` (`"90s"`, `"30m"`, `"12h"`, `"7d"`, `"3600"`).
 * Parts can be combined, largest first (`"1h30m"`).
 *
 * @returns the duration in seconds.
 * @throws {TokenError} `invalid_input` naming the text and the format.
 *
 * @example
 * ```ts
 * import { parseDuration } from "./duration.ts";
 * parseDuration("12h"); // 43200
 * parseDuration("1h30m"); // 5400
 * ```
 */
export function parseDuration(text: string): number {
  const fail = (why: string): never => {
    throw new TokenError(
      "invalid_input",
      `invalid duration "${text}": ${why} (expected e.g. 90s, 30m, 12h, 7d, 1h30m or plain seconds)`,
    );
  };
  if (typeof text !== "string") fail("not a string");
  const t = text.trim().toLowerCase();
  if (!/^(\d+[smhdw]?)+$/.test(t)) fail("unrecognised format");
  const parts = [...t.matchAll(/(\d+)([smhdw]?)/g)];
  if (parts.length > 1 && parts.some((p) => p[2] === "")) {
    fail("every part of a combined duration needs a unit");
  }
  let total = 0;
  let last = Infinity;
  for (const [, n, unit] of parts) {
    const size = UNIT_SECONDS[unit];
    if (size >= last) fail("units must go from largest to smallest");
    last = size;
    total += Number(n) * size;
  }
  if (total <= 0) fail("must be positive");
  if (!Number.isSafeInteger(total)) fail("too large");
  return total;
}
