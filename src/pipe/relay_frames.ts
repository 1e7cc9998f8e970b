/**
 * The binary frames of the relay (docs/ARCHITECTURE.md, "The relay"):
 * `RelayBody` carries one chunk of a request or response body, and
 * `RelayCredit` lets its sender send that many more bytes.
 *
 * ```
 * RelayBody:   u32 call id | u8 flag | bytes   (flag: 0 data, 1 end, 2 abort)
 * RelayCredit: u32 call id | u32 bytes
 * ```
 *
 * A body's sender starts with {@linkcode RELAY_WINDOW} bytes of credit and
 * sends chunks of at most {@linkcode RELAY_CHUNK}; its receiver grants
 * credit as its consumer takes the bytes. So at most one window per body
 * is ever in flight or queued, whatever the file size: a slow broker slows
 * the wrapper's reads, never fills the agent's memory.
 *
 * @module
 */
import { ProtocolError } from "./protocol_error.ts";

/** Largest data chunk in one `RelayBody` frame (64 KiB). */
export const RELAY_CHUNK = 64 * 1024;

/** Credit each body starts with, and the most a receiver queues (256 KiB). */
export const RELAY_WINDOW = 256 * 1024;

/** What a `RelayBody` frame says. */
export const BodyFlag = {
  /** A chunk; more follow. */
  Data: 0,
  /** The last frame of the body (its bytes, possibly none, are the tail). */
  End: 1,
  /** The sender gave the body up; the bytes are a UTF-8 reason. */
  Abort: 2,
} as const;

/** One of the {@linkcode BodyFlag} values. */
export type BodyFlag = typeof BodyFlag[keyof typeof BodyFlag];

/** A decoded `RelayBody` frame. */
export interface BodyChunk {
  /** The call. */
  id: number;
  /** Data, end or abort. */
  flag: BodyFlag;
  /** The bytes (a view into the frame). */
  data: Uint8Array;
}

/**
 * Encodes a `RelayBody` payload (copies `data` once, behind the 5-byte
 * head).
 *
 * @example
 * ```ts
 * import { BodyFlag, decodeBody, encodeBody } from "./relay_frames.ts";
 * const p = encodeBody(7, BodyFlag.End, new Uint8Array([1, 2]));
 * decodeBody(p).id; // 7
 * ```
 */
export function encodeBody(
  id: number,
  flag: BodyFlag,
  data: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const out = new Uint8Array(5 + data.length);
  new DataView(out.buffer).setUint32(0, id);
  out[4] = flag;
  out.set(data, 5);
  return out;
}

/**
 * Decodes a `RelayBody` payload.
 *
 * @throws {ProtocolError} when it is shorter than its head or the flag is unknown.
 */
export function decodeBody(payload: Uint8Array): BodyChunk {
  if (payload.length < 5) {
    throw new ProtocolError(
      `RelayBody frame of ${payload.length} bytes: expected at least 5 (u32 id, u8 flag)`,
    );
  }
  const view = new DataView(
    payload.buffer,
    payload.byteOffset,
    payload.byteLength,
  );
  const flag = payload[4];
  if (flag > BodyFlag.Abort) {
    throw new ProtocolError(
      `RelayBody frame with flag ${flag}: expected 0 (data), 1 (end) or 2 (abort)`,
    );
  }
  return {
    id: view.getUint32(0),
    flag: flag as BodyFlag,
    data: payload.subarray(5),
  };
}

/**
 * Encodes a `RelayCredit` payload.
 *
 * @example
 * ```ts
 * import { decodeCredit, encodeCredit } from "./relay_frames.ts";
 * decodeCredit(encodeCredit(3, 65536)); // { id: 3, bytes: 65536 }
 * ```
 */
export function encodeCredit(id: number, bytes: number): Uint8Array {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  view.setUint32(0, id);
  view.setUint32(4, bytes);
  return out;
}

/**
 * Decodes a `RelayCredit` payload.
 *
 * @throws {ProtocolError} unless it is exactly 8 bytes.
 */
export function decodeCredit(
  payload: Uint8Array,
): { id: number; bytes: number } {
  if (payload.length !== 8) {
    throw new ProtocolError(
      `RelayCredit frame of ${payload.length} bytes: expected 8 (u32 id, u32 bytes)`,
    );
  }
  const view = new DataView(
    payload.buffer,
    payload.byteOffset,
    payload.byteLength,
  );
  return { id: view.getUint32(0), bytes: view.getUint32(4) };
}
