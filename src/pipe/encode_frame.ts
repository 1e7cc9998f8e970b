/**
 * Encoding single frames into one buffer.
 *
 * @module
 */
import { type FrameType, MAX_FRAME_SIZE } from "./frame_type.ts";
import {
  checkMaxFrameSize,
  checkOutgoing,
  HEADER_SIZE,
  jsonBytes,
  writeHeader,
} from "./_util.ts";

/** Options for {@linkcode encodeFrame} and {@linkcode encodeJsonFrame}. */
export interface EncodeOptions {
  /**
   * Largest payload accepted; larger ones throw so the mistake surfaces at
   * the sender rather than as a protocol error at the receiver.
   *
   * @default {MAX_FRAME_SIZE}
   */
  maxFrameSize?: number;
}

/**
 * Encodes one frame into a single new buffer (header and payload copied).
 * Streaming code should prefer `FrameWriter` or
 * `FrameEncoderStream`, which avoid copying large payloads.
 *
 * @throws {RangeError} on an unknown type or a payload over the limit.
 *
 * @example
 * ```ts
 * import { encodeFrame } from "./encode_frame.ts";
 * import { FrameType } from "./frame_type.ts";
 *
 * encodeFrame(FrameType.Log, new Uint8Array([1, 2])); // 0,0,0,3, 8, 1,2
 * ```
 */
export function encodeFrame(
  type: FrameType,
  payload: Uint8Array,
  opts: EncodeOptions = {},
): Uint8Array {
  const max = checkMaxFrameSize(opts.maxFrameSize ?? MAX_FRAME_SIZE);
  checkOutgoing(type, payload.length, max);
  const out = new Uint8Array(HEADER_SIZE + payload.length);
  writeHeader(out, 0, type, payload.length);
  out.set(payload, HEADER_SIZE);
  return out;
}

/**
 * Encodes `value` as a JSON control frame.
 *
 * @throws {TypeError} if `value` has no JSON form (e.g. `undefined`).
 * @throws {RangeError} on an unknown type or a payload over the limit.
 *
 * @example
 * ```ts
 * import { encodeJsonFrame } from "./encode_frame.ts";
 * import { FrameType } from "./frame_type.ts";
 *
 * encodeJsonFrame(FrameType.Status, { state: "RUNNING" });
 * ```
 */
export function encodeJsonFrame(
  type: FrameType,
  value: unknown,
  opts: EncodeOptions = {},
): Uint8Array {
  return encodeFrame(type, jsonBytes(type, value), opts);
}
