/**
 * Logical file names: validation and the ownership layout.
 *
 * A user owns `/<user>/…`; a job writes only below
 * `/<owner>/jobs/<jobId>/` (docs/ARCHITECTURE.md, "Files").
 *
 * @module
 */
import { badRequest } from "./errors.ts";

/** Longest LFN accepted. */
export const MAX_LFN_LENGTH = 1024;

/**
 * Checks an LFN: absolute, no empty, `.` or `..` segments, no control
 * characters or backslashes. Throws a 400 naming the problem.
 */
export function validateLfn(lfn: string): string {
  const bad = (why: string) =>
    badRequest("bad_lfn", `bad file name "${lfn.slice(0, 200)}": ${why}`);
  if (!lfn.startsWith("/")) throw bad("expected an absolute name (/user/...)");
  if (lfn.length > MAX_LFN_LENGTH) {
    throw bad(`longer than ${MAX_LFN_LENGTH} characters`);
  }
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f\\]/.test(lfn)) {
    throw bad("control characters and backslashes are not allowed");
  }
  const parts = lfn.slice(1).split("/");
  for (const p of parts) {
    if (p === "" || p === "." || p === "..") {
      throw bad("empty, '.' and '..' path segments are not allowed");
    }
  }
  return lfn;
}

/** The directory a job's outputs go to. */
export function jobOutputDir(owner: string, jobId: string): string {
  return `/${owner}/jobs/${jobId}/`;
}

/** Whether `lfn` lies in the user's own tree. */
export function isUserPath(lfn: string, user: string): boolean {
  return lfn.startsWith(`/${user}/`);
}
