/**
 * The error for anything on the pipe that is not what the protocol allows.
 *
 * @module
 */

/**
 * A frame stream broke the protocol: an unknown type byte, an oversize or
 * truncated frame, a payload that is not the JSON expected, or a frame that
 * did not arrive in time. The message says what was expected and what was
 * found.
 *
 * @example Telling protocol errors apart
 * ```ts
 * import { ProtocolError } from "./protocol_error.ts";
 *
 * const err = new ProtocolError("stream ended inside a frame: 3 of 12 bytes");
 * console.log(err.name); // "ProtocolError"
 * ```
 */
export class ProtocolError extends Error {
  /**
   * @param message names the fault and its byte offset in the stream.
   * @param options `cause` keeps the underlying error, e.g. a JSON one.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ProtocolError";
  }
}
