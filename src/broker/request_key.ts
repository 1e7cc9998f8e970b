/**
 * Reads a request's `Idempotency-Key` header ({@link ./idempotency.ts}).
 *
 * @module
 */
import { badRequest } from "./errors.ts";
import { IDEMPOTENCY_HEADER, MAX_KEY_LENGTH, validKey } from "./idempotency.ts";

/** The key, undefined without the header, 400 when it is malformed. */
export function requestKey(req: Request): string | undefined {
  const key = req.headers.get(IDEMPOTENCY_HEADER);
  if (key === null) return undefined;
  if (!validKey(key)) {
    throw badRequest(
      "bad_idempotency_key",
      `Idempotency-Key must be 1 to ${MAX_KEY_LENGTH} printable ASCII characters`,
    );
  }
  return key;
}
