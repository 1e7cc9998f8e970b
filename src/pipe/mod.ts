/**
 * The framed pipe between the agent and the wrapper (docs/ARCHITECTURE.md,
 * "The pipe").
 *
 * Frames are `u32 big-endian length | u8 type | payload`, where the length
 * counts the type byte plus the payload. Control frames carry JSON objects
 * (see `messages.ts`), `Data` frames raw bytes. Everything on the wrapper's
 * stdout is a frame; anything else is a `ProtocolError`.
 *
 * @example Agent side
 * ```ts ignore
 * import {
 *   FrameType, FrameWriter, decodeJson, readFrames, readFrameWithTimeout,
 *   type HelloMessage,
 * } from "./mod.ts";
 *
 * const child = new Deno.Command("wrapper", {
 *   stdin: "piped", stdout: "piped",
 * }).spawn();
 * const out = new FrameWriter(child.stdin);
 * const frames = readFrames(child.stdout);
 * const hello = await readFrameWithTimeout(frames, 10_000, "hello");
 * if (hello?.type !== FrameType.Hello) throw new Error("expected hello");
 * console.log(decodeJson<HelloMessage>(hello).version);
 * ```
 *
 * @module
 */
export * from "./protocol_error.ts";
export * from "./frame_type.ts";
export * from "./encode_frame.ts";
export * from "./decode_json.ts";
export * from "./frame_decoder_stream.ts";
export * from "./frame_encoder_stream.ts";
export * from "./frame_writer.ts";
export * from "./read_frames.ts";
export * from "./read_frame_with_timeout.ts";
export * from "./relay_frames.ts";
export * from "./relay_flow.ts";
