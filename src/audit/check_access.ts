/**
 * Whether one audited access is granted by a role's permission set, with
 * the same matching rules as Deno's flags: a path is granted by itself or
 * any ancestor, `host:port` by the same entry or a bare `host`, a variable
 * by its name or a `PREFIX*` entry. Anything of a kind the table never
 * grants (sys, ffi, import) and every "whole kind" check (`value: null`)
 * is outside.
 *
 * @module
 */
import type { PermissionSet } from "../permissions/table.ts";
import type { AuditRecord } from "./audit_record.ts";

/** Normalizes an absolute path: no `.`/`..`/empty segments. */
export function normalizePath(path: string): string {
  const out: string[] = [];
  for (const seg of path.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  return "/" + out.join("/");
}

/** Whether `path` is `grant` or below it (both absolute). */
export function pathWithin(path: string, grant: string): boolean {
  if (!path.startsWith("/") || !grant.startsWith("/")) return false;
  const p = normalizePath(path);
  const g = normalizePath(grant);
  return g === "/" || p === g || p.startsWith(g + "/");
}

const DEFAULT_PORTS: Record<string, string> = {
  "https:": "443",
  "http:": "80",
  "wss:": "443",
  "ws:": "80",
};

/** `host:port` (or bare `host`) of a net audit value (URL or host:port). */
export function netTarget(value: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    try {
      const u = new URL(value);
      const port = u.port || DEFAULT_PORTS[u.protocol] || "";
      return port ? `${u.hostname}:${port}` : u.hostname;
    } catch {
      return value;
    }
  }
  return value;
}

function splitHostPort(v: string): { host: string; port?: string } {
  const bracketed = /^(\[[^\]]+\])(?::(\d+))?$/.exec(v);
  if (bracketed) return { host: bracketed[1], port: bracketed[2] };
  const i = v.lastIndexOf(":");
  // A bare IPv6 address has several colons and no port.
  if (i < 0 || v.indexOf(":") !== i) return { host: v };
  return { host: v.slice(0, i), port: v.slice(i + 1) };
}

/** Whether a net target is granted by one `--allow-net` entry. */
export function netWithin(target: string, grant: string): boolean {
  const t = splitHostPort(target);
  const g = splitHostPort(grant);
  if (t.host.toLowerCase() !== g.host.toLowerCase()) return false;
  return g.port === undefined || g.port === t.port;
}

/** Whether a variable name is granted by one `--allow-env` entry. */
export function envWithin(name: string, grant: string): boolean {
  return grant.endsWith("*")
    ? name.startsWith(grant.slice(0, -1))
    : name === grant;
}

/** Whether `record` is granted by `set`. */
export function accessAllowed(
  record: Pick<AuditRecord, "permission" | "value">,
  set: PermissionSet,
): boolean {
  const v = record.value;
  if (v === null) return false;
  switch (record.permission) {
    case "read":
      return set.read.some((g) => pathWithin(v, g));
    case "write":
      return set.write.some((g) => pathWithin(v, g));
    case "net":
      return set.net.some((g) => netWithin(netTarget(v), g));
    case "env":
      return set.env.some((g) => envWithin(v, g));
    case "run":
      return set.run.includes(v);
    default:
      return false;
  }
}
