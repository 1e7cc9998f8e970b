/**
 * The agent's side of the pipe conversation with one wrapper: wait for
 * `hello` (protocol version check), send `start`, then take `status` and
 * `log` frames until `end`.
 *
 * @module
 */
import {
  decodeJson,
  type Frame,
  FrameType,
  PROTOCOL_VERSION,
  readFrameWithTimeout,
} from "../pipe/mod.ts";
import type {
  EndMessage,
  HelloMessage,
  LogMessage,
  StartMessage,
  StatusMessage,
} from "../protocol/mod.ts";

/** Options of {@link converse}. */
export interface ConversationOptions {
  /** Frames from the wrapper's stdout. */
  frames: AsyncIterator<Frame>;
  /** Sends a frame to the wrapper's stdin. */
  send: (type: FrameType, msg: StartMessage) => Promise<void>;
  /** The `start` message. */
  start: StartMessage;
  /** How long to wait for `hello`, ms. */
  helloTimeoutMs: number;
  /** Called with every frame after `hello` (tests). */
  onFrame?: (frame: Frame) => void;
  /** Called with each stage the wrapper reports. */
  onStage: (stage: string) => void;
  /** Called with each batch of payload output. */
  onLog: (l: LogMessage) => void;
  /**
   * Takes the relay's frames (the wrapper's broker calls); true when the
   * frame was one ({@link ./relay_server.ts}).
   */
  relay?: (frame: Frame) => boolean;
}

/**
 * Talks to the wrapper until its `end` frame (returned) or until its
 * stdout closes (undefined; also when it never said anything). Throws on
 * a protocol violation (no `hello` in time, wrong first frame, another
 * protocol version).
 *
 * @example
 * ```ts ignore
 * const end = await converse({
 *   frames: readFrames(child.stdout), send: (t, m) => out.send(t, m), start,
 *   helloTimeoutMs: 30_000, onStage: (s) => stage = s, onLog: (l) => print(l),
 * });
 * ```
 */
export async function converse(
  opts: ConversationOptions,
): Promise<EndMessage | undefined> {
  const { frames } = opts;
  const hello = await readFrameWithTimeout(
    frames,
    opts.helloTimeoutMs,
    "hello",
  );
  // No frame at all: the wrapper died before it said anything.
  if (!hello) return undefined;
  if (hello.type !== FrameType.Hello) {
    throw new Error(`expected a hello frame first, got ${hello.type}`);
  }
  const h = decodeJson<HelloMessage>(hello);
  if (h.version !== PROTOCOL_VERSION) {
    throw new Error(
      `wrapper speaks protocol ${h.version}, we speak ${PROTOCOL_VERSION}`,
    );
  }
  await opts.send(FrameType.Start, opts.start);
  for (let f = await frames.next(); !f.done; f = await frames.next()) {
    const frame = f.value;
    opts.onFrame?.(frame);
    if (opts.relay?.(frame)) continue;
    if (frame.type === FrameType.Status) {
      opts.onStage(decodeJson<StatusMessage>(frame).state);
    } else if (frame.type === FrameType.Log) {
      opts.onLog(decodeJson<LogMessage>(frame));
    } else if (frame.type === FrameType.End) {
      return decodeJson<EndMessage>(frame);
    }
  }
  return undefined;
}
