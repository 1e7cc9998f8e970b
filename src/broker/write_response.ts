/**
 * Writing a web `Response` out through a `node:http` `ServerResponse`: the
 * body streams with backpressure, and `end()` waits for the last write.
 *
 * Why the wait: under Deno 2.9.6, a response whose `end()` finds a body
 * write still in flight on an uncorked socket never emits `finish` (the
 * bytes do reach the client). A keep-alive connection answers its requests
 * in order and moves on to the next response only after that `finish`, so
 * every later request on the connection went unanswered for good. It
 * struck downloads whose last write met a full socket: a wrapper stages
 * its inputs over a connection and later uploads its outputs over the same
 * one, and its upload waited until the job's TTL killed it.
 *
 * @module
 */
import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * The subset of `ServerResponse` this module uses (a test can fake it).
 */
export type ResponseSink = Pick<
  ServerResponse,
  "writeHead" | "write" | "end" | "once" | "off"
>;

/**
 * Writes `response` to `res`; resolves once `end()` is called, rejects
 * when the client goes away mid-body.
 *
 * @example
 * ```ts ignore
 * createServer((req, res) => {
 *   handler(toRequest(req)).then((r) => writeResponse(req, res, r))
 *     .catch(() => res.destroy());
 * });
 * ```
 */
export async function writeResponse(
  req: Pick<IncomingMessage, "complete" | "method" | "pause" | "socket">,
  res: ResponseSink,
  response: Response,
): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((v, k) => (headers[k] = v));
  // Answered before the body was read (413, 401 …): close the connection
  // rather than drain a body that may be gigabytes long.
  const unread = !req.complete && req.method !== "GET" &&
    req.method !== "HEAD";
  if (unread) {
    headers["connection"] = "close";
    res.once("finish", () => {
      req.pause();
      // Give the client a moment to read the answer before the reset.
      setTimeout(() => req.socket.destroy(), 1000);
    });
  }
  res.writeHead(response.status, headers);
  if (!response.body) {
    res.end();
    return;
  }
  // One chunk is held back so that the last one can be written with a
  // callback and waited for (see the module doc).
  let last: Uint8Array | undefined;
  for await (const chunk of response.body) {
    if (chunk.byteLength === 0) continue;
    if (last && !res.write(last)) await drained(res);
    last = chunk;
  }
  if (last) await written(res, last);
  res.end();
}

/**
 * Waits for `drain`, or rejects when the client goes away. Both listeners
 * are removed whichever fires: a long download waits thousands of times.
 */
function drained(res: ResponseSink): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onDrain = () => {
      res.off("close", onClose);
      resolve();
    };
    const onClose = () => {
      res.off("drain", onDrain);
      reject(new Error("client went away"));
    };
    res.once("drain", onDrain);
    res.once("close", onClose);
  });
}

/** Writes `chunk` and waits until the socket has taken it (or closed). */
function written(res: ResponseSink, chunk: Uint8Array): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onClose = () => reject(new Error("client went away"));
    res.once("close", onClose);
    res.write(chunk, (e) => {
      res.off("close", onClose);
      if (e) reject(e);
      else resolve();
    });
  });
}
