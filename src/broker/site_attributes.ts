/**
 * Site attributes an agent advertises besides its slot (`agent --attr
 * KEY=VALUE[,VALUE]`), e.g. `GridPartitions`, `Price`, `Type`: matched by
 * `other.KEY` in `Requirements` (`member()` for lists, `==` for one
 * value). `Type` is `"machine"` unless the agent says otherwise, as in
 * JAliEn.
 *
 * @module
 */
import { hasControl } from "../jdl/_position.ts";
import { badRequest } from "./errors.ts";

/** Keys the slot itself sets (`--attr` may not override them). */
const RESERVED = new Set([
  "ce",
  "site",
  "ttl",
  "cpucores",
  "memory",
  "disk",
  "packages",
  "containers",
  "payloadnetworks",
]);

const MAX_ATTRIBUTES = 64;

/**
 * The attributes of a match request body, checked: at most 64 keys
 * (identifiers, not a slot key), each a string, a number or a list of
 * strings. Adds `Type: "machine"` when absent.
 */
export function siteAttributes(v: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (v !== undefined && v !== null) {
    if (typeof v !== "object" || Array.isArray(v)) {
      throw badRequest("bad_field", `"attributes" must be an object`);
    }
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length > MAX_ATTRIBUTES) {
      throw badRequest(
        "bad_field",
        `"attributes" may have at most ${MAX_ATTRIBUTES} keys`,
      );
    }
    for (const [k, val] of entries) {
      if (
        !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(k) ||
        RESERVED.has(k.toLowerCase())
      ) {
        throw badRequest(
          "bad_field",
          `attribute ${
            JSON.stringify(k)
          }: expected a name (letters, digits, _) other than ${
            [...RESERVED].join(", ")
          }`,
        );
      }
      const okString = (x: unknown) =>
        typeof x === "string" && x.length <= 256 && !hasControl(x);
      const ok = okString(val) ||
        (typeof val === "number" && Number.isFinite(val)) ||
        (Array.isArray(val) && val.length <= 256 && val.every(okString));
      if (!ok) {
        throw badRequest(
          "bad_field",
          `attribute ${k}: expected a string, a number or a list of strings`,
        );
      }
      out[k] = val;
    }
  }
  if (!Object.keys(out).some((k) => k.toLowerCase() === "type")) {
    out.Type = "machine";
  }
  return out;
}
