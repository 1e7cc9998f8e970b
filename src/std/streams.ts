/**
 * Local stand-in for `jsr:@std/streams` over WHATWG streams (JSR is not
 * reachable here; `deno.json` maps `@std/streams` to this file). Same names
 * and signatures as the std functions we use, and only those.
 *
 * @module
 */

/** Reads a whole byte stream into one `Uint8Array`. */
async function readAll(
  stream: ReadableStream<Uint8Array>,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of stream) {
    chunks.push(chunk);
    size += chunk.byteLength;
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

/** Reads a whole byte stream as UTF-8 text. */
export async function toText(
  stream: ReadableStream<Uint8Array>,
): Promise<string> {
  return new TextDecoder().decode(await readAll(stream));
}

/** Splits a text stream into lines (`\n` or `\r\n`), without the line ends. */
export class TextLineStream extends TransformStream<string, string> {
  /** Creates the transform; a trailing partial line is flushed at the end. */
  constructor() {
    let rest = "";
    super({
      transform(chunk, controller) {
        rest += chunk;
        let nl: number;
        while ((nl = rest.indexOf("\n")) >= 0) {
          const line = rest.slice(0, nl);
          controller.enqueue(line.endsWith("\r") ? line.slice(0, -1) : line);
          rest = rest.slice(nl + 1);
        }
      },
      flush(controller) {
        if (rest.length > 0) controller.enqueue(rest);
      },
    });
  }
}
