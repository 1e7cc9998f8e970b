/**
 * A request body as a web stream that honours backpressure.
 *
 * `Readable.toWeb(req)` under Deno 2.9.6 keeps the `node:http` request in
 * flowing mode and queues every chunk it receives, whatever the consumer
 * takes: a 2 GiB upload to a slower disk held about 2 GiB in memory. Here
 * the request is paused whenever more than `highWaterMark` bytes wait
 * unread and resumed only when the consumer pulls, so the TCP window
 * closes and the client waits: memory per upload stays near
 * `highWaterMark` plus one socket read, whatever the body size.
 *
 * A client that goes away mid-body errors the stream with
 * {@link ClientAbortError}, an expected event (one log line, no stack).
 *
 * @module
 */
import type { IncomingMessage } from "node:http";
import { HttpError } from "./errors.ts";

/** The client closed the connection before its body was complete. */
export class ClientAbortError extends HttpError {
  /** Creates the error. */
  constructor(message = "the client went away before the body was complete") {
    super(400, "client_aborted", message);
    this.name = "ClientAbortError";
  }
}

/** Bytes queued before the request is paused. */
export const BODY_HIGH_WATER_MARK = 256 * 1024;

interface StreamHandle {
  readStop?(): unknown;
  readStart?(): unknown;
}

interface HandleOwner {
  _handle?: StreamHandle | null;
  _parent?: HandleOwner | null;
}

/**
 * The runtime's stream handles under the request (internal to `node:net`,
 * may be absent): the TLS wrap and the TCP socket below it.
 */
function handlesOf(req: IncomingMessage): StreamHandle[] {
  const out: StreamHandle[] = [];
  for (
    let s = req.socket as unknown as HandleOwner | null | undefined, depth = 0;
    s && depth < 3;
    s = s._parent, depth++
  ) {
    if (s._handle) out.push(s._handle);
  }
  return out;
}

/**
 * Wraps `req` in a pull-driven stream.
 *
 * @example
 * ```ts ignore
 * const body = requestBody(req);
 * for await (const chunk of body) await file.write(chunk);
 * ```
 */
export function requestBody(
  req: IncomingMessage,
  highWaterMark = BODY_HIGH_WATER_MARK,
): ReadableStream<Uint8Array> {
  let done = false;
  let stopped = false;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      req.on("data", (chunk: Uint8Array) => {
        if (done) return;
        // Copy out of a possibly pooled buffer the socket reuses.
        controller.enqueue(new Uint8Array(chunk));
        // Stop on every chunk over the mark: the runtime restarts reads
        // on its own (e.g. when the parser asks for more).
        if ((controller.desiredSize ?? 0) <= 0) {
          // Pausing the message or the socket does not stop Deno's TLS
          // layer from reading (a paused 400 MB upload still took 700 MB);
          // stopping reads on the socket's handle does.
          stopped = true;
          req.pause();
          req.socket.pause();
          for (const h of handlesOf(req)) h.readStop?.();
        }
      });
      req.once("end", () => {
        if (done) return;
        done = true;
        controller.close();
      });
      const abort = () => {
        if (done) return;
        done = true;
        controller.error(new ClientAbortError());
      };
      req.once("aborted", abort);
      req.once("error", abort);
      req.once("close", () => {
        if (!req.complete) abort();
      });
    },
    pull() {
      if (!done && stopped) {
        stopped = false;
        for (const h of handlesOf(req).reverse()) h.readStart?.();
        req.socket.resume();
        req.resume();
      }
    },
    cancel() {
      // Stop reading; the transport answers and then closes the
      // connection instead of draining the rest of the body.
      done = true;
      req.pause();
    },
  }, new ByteLengthQueuingStrategy({ highWaterMark }));
}
