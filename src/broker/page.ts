/**
 * Paging of list endpoints: `limit` (default 1000, at most 10,000 per
 * page) and a cursor. Each page answers `next`, the cursor of the page
 * after it, or null on the last page.
 *
 * @module
 */
import { badRequest } from "./errors.ts";

/** Default page size. */
export const DEFAULT_PAGE = 1000;
/** Largest page. */
export const MAX_PAGE = 10_000;

/** `limit` and the cursor parameter `name` of a list request. */
export function pageParams(
  url: URL,
  name: string,
): { limit: number; cursor: string | undefined } {
  const raw = url.searchParams.get("limit");
  const limit = raw === null ? DEFAULT_PAGE : Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw badRequest(
      "bad_limit",
      `"limit" must be a whole number from 1 to ${MAX_PAGE}`,
    );
  }
  return { limit, cursor: url.searchParams.get(name) ?? undefined };
}
