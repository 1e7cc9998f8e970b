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

/**
 * Escapes a byte stream line by line for our own stderr: the runtime's
 * and the wrapper's stderr pass through to the agent's log, and both can
 * carry bytes the payload chose (or a runtime's colour codes). Lines keep
 * their newline; an unfinished line waits for the next chunk or
 * {@link StreamEscaper.flush}.
 *
 * @example
 * ```ts
 * const e = new StreamEscaper();
 * e.push(new TextEncoder().encode("a\x1b[2Jb\npart")); // "a\\x1b[2Jb\n"
 * e.flush(); // "part\n"
 * ```
 */
export class StreamEscaper {
  readonly #dec = new TextDecoder();
  #pending = "";

  /** The complete lines of `chunk` (with what came before), escaped. */
  push(chunk: Uint8Array): string {
    const text = this.#pending + this.#dec.decode(chunk, { stream: true });
    const end = text.lastIndexOf("\n");
    if (end < 0) {
      this.#pending = text;
      return "";
    }
    this.#pending = text.slice(end + 1);
    return text.slice(0, end).split("\n").map(escapeControl).join("\n") +
      "\n";
  }

  /** The unfinished last line, escaped (empty if none). */
  flush(): string {
    const rest = this.#pending + this.#dec.decode();
    this.#pending = "";
    return rest ? `${escapeControl(rest)}\n` : "";
  }
}
