// Private helpers shared by the frame encoders and decoders.
import { FrameType } from "./frame_type.ts";

/** Bytes before the payload: u32 big-endian length, then the type byte. */
export const HEADER_SIZE = 5;

/**
 * Payloads up to this size are copied behind their header into one buffer,
 * because one write is cheaper than two for small frames; larger payloads
 * are written after a separate 5-byte header so they are never copied.
 */
export const COALESCE_LIMIT = 64 * 1024;

/** The largest payload a u32 length (which counts the type byte) can carry. */
export const MAX_ENCODABLE = 0xffff_ffff - 1;

const NAMES: string[] = [];
for (const [name, value] of Object.entries(FrameType)) NAMES[value] = name;

/** Whether `type` is a byte we know as a frame type. */
export function isFrameType(type: number): type is FrameType {
  return NAMES[type] !== undefined;
}

/** A frame type's name for messages, e.g. `Status` or `type 0x41`. */
export function frameTypeName(type: number): string {
  return NAMES[type] ?? `type 0x${hex(type)}`;
}

/** Two lowercase hex digits. */
export function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}

/** Validates a `maxFrameSize` option, returning it. */
export function checkMaxFrameSize(max: number): number {
  if (!Number.isInteger(max) || max < 0 || max > MAX_ENCODABLE) {
    throw new RangeError(
      `maxFrameSize must be an integer from 0 to ${MAX_ENCODABLE}, got ${max}`,
    );
  }
  return max;
}

/** The first bytes of `bytes` as a quoted string, for error messages. */
export function preview(bytes: Uint8Array, max = 32): string {
  const text = new TextDecoder().decode(bytes.subarray(0, max));
  return JSON.stringify(text) + (bytes.length > max ? "…" : "");
}

/** Whether every byte is printable ASCII or common whitespace. */
export function looksLikeText(bytes: Uint8Array): boolean {
  for (const b of bytes) {
    if ((b < 0x20 || b > 0x7e) && b !== 0x09 && b !== 0x0a && b !== 0x0d) {
      return false;
    }
  }
  return bytes.length > 0;
}

/** Writes the 5-byte header for a payload of `size` bytes at `at`. */
export function writeHeader(
  out: Uint8Array,
  at: number,
  type: FrameType,
  size: number,
): void {
  const length = size + 1;
  out[at] = length >>> 24;
  out[at + 1] = (length >>> 16) & 0xff;
  out[at + 2] = (length >>> 8) & 0xff;
  out[at + 3] = length & 0xff;
  out[at + 4] = type;
}

/** Throws unless `type` is known and `size` fits `max`. */
export function checkOutgoing(type: number, size: number, max: number): void {
  if (!isFrameType(type)) {
    throw new RangeError(
      `cannot encode unknown frame type ${type}: expected one of ${
        Object.entries(FrameType).map(([n, v]) => `${n}=${v}`).join(", ")
      }`,
    );
  }
  if (size > max) {
    throw new RangeError(
      `${
        frameTypeName(type)
      } frame of ${size} bytes exceeds the ${max}-byte limit`,
    );
  }
}

/** A new 5-byte header for a payload of `size` bytes. */
export function frameHeader(type: FrameType, size: number): Uint8Array {
  const header = new Uint8Array(HEADER_SIZE);
  writeHeader(header, 0, type, size);
  return header;
}

/**
 * Joins runs of small buffers into one, so that many small frames cost one
 * write; buffers over {@linkcode COALESCE_LIMIT} pass through uncopied.
 */
export function coalesce(parts: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let run: Uint8Array[] = [];
  let runBytes = 0;
  const flush = () => {
    if (run.length === 1) out.push(run[0]);
    else if (run.length > 1) {
      const joined = new Uint8Array(runBytes);
      let at = 0;
      for (const part of run) {
        joined.set(part, at);
        at += part.length;
      }
      out.push(joined);
    }
    run = [];
    runBytes = 0;
  };
  for (const part of parts) {
    if (part.length > COALESCE_LIMIT) {
      flush();
      out.push(part);
      continue;
    }
    if (runBytes + part.length > COALESCE_LIMIT) flush();
    run.push(part);
    runBytes += part.length;
  }
  flush();
  return out;
}

/**
 * The buffers to write for one frame: one buffer for small payloads, or a
 * header followed by the caller's payload itself for large ones.
 */
export function frameParts(
  type: FrameType,
  payload: Uint8Array,
  max: number,
): Uint8Array[] {
  checkOutgoing(type, payload.length, max);
  if (payload.length <= COALESCE_LIMIT) {
    const out = new Uint8Array(HEADER_SIZE + payload.length);
    writeHeader(out, 0, type, payload.length);
    out.set(payload, HEADER_SIZE);
    return [out];
  }
  return [frameHeader(type, payload.length), payload];
}

/** Serialises `value` as UTF-8 JSON, refusing values JSON cannot carry. */
export function jsonBytes(type: FrameType, value: unknown): Uint8Array {
  const text = JSON.stringify(value);
  if (text === undefined) {
    throw new TypeError(
      `cannot encode ${
        frameTypeName(type)
      } frame: ${typeof value} is not JSON-serialisable`,
    );
  }
  return new TextEncoder().encode(text);
}
