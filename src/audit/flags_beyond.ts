/**
 * Compares the Deno flags a process was actually started with (e.g. as a
 * built launcher passes them) against a role's row of the table: anything
 * they grant beyond it is reported, including `-A`/`--allow-all` and bare
 * `--allow-x` flags (which grant the whole kind).
 *
 * @module
 */
import type { PermissionSet } from "../permissions/table.ts";
import { envWithin, netWithin, pathWithin } from "./check_access.ts";

const KINDS = ["net", "read", "write", "run", "env"] as const;

function within(
  kind: typeof KINDS[number],
  value: string,
  table: PermissionSet,
): boolean {
  switch (kind) {
    case "read":
    case "write":
      return table[kind].some((g) => pathWithin(value, g));
    case "net":
      return table.net.some((g) => netWithin(value, g));
    case "env":
      // A prefix grant covers a narrower prefix or a name below it.
      return table.env.some((g) =>
        envWithin(value.replace(/\*$/, ""), g) &&
        (!value.endsWith("*") || g.endsWith("*"))
      );
    case "run":
      return table.run.includes(value);
  }
}

/**
 * Everything in `argv` (Deno options, up to the script name) that grants
 * more than `table`; empty when the flags stay within it.
 */
export function flagsBeyond(
  argv: readonly string[],
  table: PermissionSet,
): string[] {
  const out: string[] = [];
  for (const a of argv) {
    if (a === "-A" || a === "--allow-all") {
      out.push(`${a} (everything)`);
      continue;
    }
    // Short forms (-R, -W, -N, -E, -S, -I) and permission sets (-P).
    if (/^-[RWNESIP](=.*)?$/.test(a) || a.startsWith("--permission-set")) {
      out.push(`${a} (short or config-defined permissions)`);
      continue;
    }
    const m = /^--allow-([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m) continue;
    const kind = m[1];
    if (!(KINDS as readonly string[]).includes(kind)) {
      out.push(`${a} (the table never grants ${kind})`);
      continue;
    }
    if (m[2] === undefined || m[2] === "") {
      out.push(`${a} (all of ${kind})`);
      continue;
    }
    for (const v of m[2].split(",")) {
      if (!within(kind as typeof KINDS[number], v, table)) {
        out.push(`--allow-${kind}=${v}`);
      }
    }
  }
  return out;
}
