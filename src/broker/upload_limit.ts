/**
 * The upload size limit, checked before the body is read.
 *
 * A declared `Content-Length` over the limit is refused at once (413, and
 * the transport closes the connection instead of reading the body); a
 * chunked body is counted as it streams and refused with the same 413 the
 * moment it passes the limit ({@link ./blob_store.ts}).
 *
 * @module
 */
import { HttpError } from "./errors.ts";

/** Default largest upload: 4 GiB. */
export const DEFAULT_MAX_UPLOAD_BYTES = 4 * 1024 ** 3;

/** 413 when the request declares more than `max` bytes. */
export function checkDeclaredSize(req: Request, max: number): void {
  const raw = req.headers.get("content-length");
  if (raw === null) return;
  const declared = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(declared)) {
    throw new HttpError(400, "bad_length", `bad Content-Length ${raw}`);
  }
  if (declared > max) {
    throw new HttpError(
      413,
      "too_large",
      `upload of ${declared} bytes exceeds the ${max}-byte limit`,
    );
  }
}

/**
 * Parses a size like `4G`, `512M`, `1048576` (binary units K, M, G, T).
 *
 * @example
 * ```ts
 * import { parseSize } from "./upload_limit.ts";
 * parseSize("4G"); // 4294967296
 * ```
 */
export function parseSize(text: string): number {
  const m = /^(\d+)\s*([KMGT]?)(i?B)?$/i.exec(text.trim());
  if (!m) {
    throw new TypeError(
      `${text}: expected a size in bytes, e.g. 1048576, 512M or 4G`,
    );
  }
  const unit = " KMGT".indexOf(m[2].toUpperCase() || " ");
  const v = Number(m[1]) * 1024 ** unit;
  if (!Number.isSafeInteger(v) || v <= 0) {
    throw new TypeError(`${text}: expected a positive size`);
  }
  return v;
}
