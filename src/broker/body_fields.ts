/**
 * Request bodies and their fields, read with limits: a body over its cap
 * is a 413, anything malformed a 400 naming the field; never a 500.
 *
 * @module
 */
import type { Usage } from "../protocol/usage.ts";
import { badRequest, HttpError } from "./errors.ts";

/** Largest JSON body accepted, bytes. */
export const MAX_JSON_BYTES = 64 * 1024;

/** The whole body, refused with 413 once over `max` bytes. */
export async function readLimited(
  req: Request,
  max: number,
): Promise<Uint8Array> {
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > max) {
    throw new HttpError(413, "too_large", `body exceeds ${max} bytes`);
  }
  if (!req.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const c of req.body) {
    size += c.byteLength;
    if (size > max) {
      throw new HttpError(413, "too_large", `body exceeds ${max} bytes`);
    }
    chunks.push(c);
  }
  const out = new Uint8Array(size);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.byteLength;
  }
  return out;
}

/** The body as a JSON object (empty body: `{}`). */
export async function readJson(
  req: Request,
): Promise<Record<string, unknown>> {
  const bytes = await readLimited(req, MAX_JSON_BYTES);
  if (bytes.byteLength === 0) return {};
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    throw badRequest(
      "bad_json",
      `request body is not valid JSON: ${(e as Error).message}`,
    );
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw badRequest("bad_json", "expected a JSON object as request body");
  }
  return v as Record<string, unknown>;
}

/** A non-negative number field, or `fallback` when absent. */
export function num(
  body: Record<string, unknown>,
  key: string,
  fallback?: number,
): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    throw badRequest("bad_field", `"${key}" must be a non-negative number`);
  }
  return v;
}

/** A string field of at most 4096 characters, if present. */
export function str(
  body: Record<string, unknown>,
  key: string,
): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string" || v.length > 4096) {
    throw badRequest(
      "bad_field",
      `"${key}" must be a string of at most 4096 characters`,
    );
  }
  return v;
}

/** A list-of-strings field (absent: empty). */
export function strList(body: Record<string, unknown>, key: string): string[] {
  const v = body[key];
  if (v === undefined || v === null) return [];
  if (
    !Array.isArray(v) || v.length > 10000 ||
    !v.every((x) => typeof x === "string")
  ) {
    throw badRequest("bad_field", `"${key}" must be a list of strings`);
  }
  return v as string[];
}

/** A `usage` field, if present. */
export function parseUsage(v: unknown): Usage | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "object" || Array.isArray(v)) {
    throw badRequest("bad_field", `"usage" must be an object`);
  }
  const u = v as Record<string, unknown>;
  return {
    cpuSeconds: num(u, "cpuSeconds", 0)!,
    rssBytes: num(u, "rssBytes", 0)!,
    maxRssBytes: num(u, "maxRssBytes"),
    wallSeconds: num(u, "wallSeconds", 0)!,
    diskBytes: num(u, "diskBytes", 0)!,
  };
}
