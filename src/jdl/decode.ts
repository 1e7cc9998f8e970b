/**
 * Bytes to JDL text, the one way the CLI and the broker both use, so that
 * invalid UTF-8 gets the same error from either (and is never turned into
 * U+FFFD and submitted).
 *
 * @module
 */
import { JdlError } from "./error.ts";

/**
 * Decodes UTF-8 strictly (a leading byte-order mark is kept for the lexer
 * to skip).
 *
 * @throws {JdlError} `line L, column C: expected UTF-8 text, found byte
 *   0xNN` at the first byte that is not valid UTF-8.
 *
 * @example
 * ```ts
 * import { decodeJdl } from "./decode.ts";
 * decodeJdl(new TextEncoder().encode('Executable = "/bin/true";'));
 * ```
 */
export function decodeJdl(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(
      bytes,
    );
  } catch {
    const bad = firstInvalid(bytes);
    const before = new TextDecoder().decode(bytes.subarray(0, bad));
    const lines = before.split("\n");
    const column = [...lines[lines.length - 1]].length + 1;
    throw new JdlError(
      lines.length,
      column,
      `expected UTF-8 text, found byte 0x${
        bytes[bad].toString(16).padStart(2, "0")
      }`,
    );
  }
}

/** Offset of the first byte that does not start or continue valid UTF-8. */
function firstInvalid(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    let n = 0;
    let min = 0;
    if (c < 0x80) {
      i++;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      min = 0x10000;
    } else {
      return i;
    }
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const d = b[i + k];
      if (d === undefined || (d & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return Math.max(0, b.length - 1);
}
