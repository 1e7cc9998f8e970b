/**
 * Decoding control-frame payloads.
 *
 * @module
 */
import type { Frame } from "./frame_type.ts";
import { ProtocolError } from "./protocol_error.ts";
import { frameTypeName, preview } from "./_util.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Parses a control frame's payload, which must be a UTF-8 JSON object.
 * The type parameter is not checked; validate fields you rely on.
 *
 * @throws {ProtocolError} on bad UTF-8, bad JSON, or a non-object value.
 *
 * @example
 * ```ts
 * import { decodeJson } from "./decode_json.ts";
 * import { encodeJsonFrame } from "./encode_frame.ts";
 * import { FrameType } from "./frame_type.ts";
 *
 * const bytes = encodeJsonFrame(FrameType.Status, { state: "RUNNING" });
 * const status = decodeJson<{ state: string }>({
 *   type: FrameType.Status,
 *   payload: bytes.subarray(5),
 * });
 * ```
 */
export function decodeJson<T = unknown>(frame: Frame): T {
  const what = `${frameTypeName(frame.type)} frame payload`;
  let text: string;
  try {
    text = utf8.decode(frame.payload);
  } catch (e) {
    throw new ProtocolError(
      `${what} is not valid UTF-8, expected UTF-8 JSON; first bytes: ${
        preview(frame.payload)
      }`,
      { cause: e },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ProtocolError(
      `${what} is not valid JSON (${(e as Error).message}); first bytes: ${
        preview(frame.payload)
      }`,
      { cause: e },
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    const found = value === null
      ? "null"
      : Array.isArray(value)
      ? "an array"
      : `a ${typeof value}`;
    throw new ProtocolError(`${what} is ${found}, expected a JSON object`);
  }
  return value as T;
}
