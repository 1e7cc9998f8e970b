/**
 * The frame format of the agent–wrapper pipe (DESIGN §6).
 *
 * A frame is `u32 big-endian length | u8 type | payload`. The length counts
 * the type byte plus the payload, so it is `payload.length + 1` and never 0;
 * that way a reader knows how many bytes follow the length field without
 * knowing the type. Control frames carry UTF-8 JSON objects (see
 * `messages.ts`); `Data` frames carry raw bytes.
 *
 * @module
 */

/** Protocol version the wrapper announces in its `Hello` frame. */
export const PROTOCOL_VERSION = 1;

/** Default largest payload in bytes (16 MiB); the header is not counted. */
export const MAX_FRAME_SIZE: number = 16 * 1024 * 1024;

/**
 * Frame type bytes. Agent → wrapper: `Start`, `Cancel`, `Ack`, `Data`.
 * Wrapper → agent: `Hello` (first), `Status`, `Usage`, `Log`, `End`, `Ack`,
 * `Data`.
 */
export const FrameType = {
  Hello: 1,
  Start: 2,
  Cancel: 3,
  Status: 4,
  Usage: 5,
  Log: 6,
  End: 7,
  Data: 8,
  Ack: 9,
} as const;

/** One of the {@linkcode FrameType} byte values. */
export type FrameType = typeof FrameType[keyof typeof FrameType];

/**
 * A decoded frame. Decoders may hand out `payload` as a view into the chunk
 * it arrived in (mind `byteOffset`); do not modify it in place.
 */
export interface Frame {
  /** What the payload is. */
  type: FrameType;
  /** JSON text for control frames, raw bytes for `Data`. */
  payload: Uint8Array;
}
