import { JdlError } from "./error.ts";

/** Turns an offset into `text` into a 1-based line and code-point column. */
export function locate(
  text: string,
  offset: number,
): { line: number; column: number } {
  const end = Math.max(0, Math.min(offset, text.length));
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf("\n"); i !== -1 && i < end;) {
    line++;
    lineStart = i + 1;
    i = text.indexOf("\n", lineStart);
  }
  let column = 1;
  for (let i = lineStart; i < end; i++) {
    // A surrogate pair is one code point: its low half does not count.
    const c = text.charCodeAt(i);
    const low = c >= 0xdc00 && c <= 0xdfff;
    const prev = i > lineStart ? text.charCodeAt(i - 1) : 0;
    if (!(low && prev >= 0xd800 && prev <= 0xdbff)) column++;
  }
  return { line, column };
}

/** A {@linkcode JdlError} located at `offset` of `text`. */
export function errorAt(
  text: string,
  offset: number,
  detail: string,
): JdlError {
  const { line, column } = locate(text, offset);
  return new JdlError(line, column, detail);
}

const MAX_SHOWN = 40;

/** Quotes a string the way the JDL printer does (escapes included). */
export function quote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    switch (c) {
      case '"':
        out += '\\"';
        break;
      case "\\":
        out += "\\\\";
        break;
      case "\n":
        out += "\\n";
        break;
      case "\r":
        out += "\\r";
        break;
      case "\t":
        out += "\\t";
        break;
      default:
        out += c;
    }
  }
  return out + '"';
}

/** Quotes a string for an error message, shortened and with no control bytes. */
export function show(s: string): string {
  const short = s.length > MAX_SHOWN ? s.slice(0, MAX_SHOWN) + "…" : s;
  let out = "";
  for (const c of quote(short)) {
    const code = c.charCodeAt(0);
    out += code < 0x20 || code === 0x7f
      ? `\\u${code.toString(16).padStart(4, "0")}`
      : c;
  }
  return out;
}

/** Whether `s` has a C0 control character or DEL. */
export function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}
