/**
 * The frame format of the agent–wrapper pipe (docs/ARCHITECTURE.md,
 * "The pipe").
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
 * Frame type bytes. Agent → wrapper: `Start`, `Cancel`. Wrapper → agent:
 * `Hello` (first), `Status`, `Log`, `End`. The payload of each is a JSON
 * object (see `src/protocol/messages.ts`). Bytes 5, 8 and 9 (once `Usage`,
 * `Data` and `Ack`, never sent) and 10 to 15 are unassigned: a decoder
 * refuses them like any other unknown type.
 *
 * The relay (docs/ARCHITECTURE.md, "The relay") carries the wrapper's
 * broker calls: `RelayRequest` (wrapper → agent) and `RelayResponse`
 * (agent → wrapper) are JSON (`src/protocol/relay_messages.ts`);
 * `RelayBody` and `RelayCredit` go both ways and are binary
 * (`relay_frames.ts`); `RelayCancel` (JSON) abandons one call.
 */
export const FrameType = {
  Hello: 1,
  Start: 2,
  Cancel: 3,
  Status: 4,
  Log: 6,
  End: 7,
  RelayRequest: 16,
  RelayResponse: 17,
  RelayBody: 18,
  RelayCredit: 19,
  RelayCancel: 20,
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
  /** The payload bytes: JSON text, or binary for `RelayBody`/`RelayCredit`. */
  payload: Uint8Array;
}
