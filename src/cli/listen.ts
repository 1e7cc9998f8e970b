/**
 * `--listen HOST:PORT` values: any IPv4 address, a bracketed IPv6 address
 * or a host name, and a port. Shared by `broker serve` and the launcher,
 * which must not hand Deno a permission flag it cannot parse.
 *
 * @example
 * ```ts
 * parseListen("[::]:8443"); // { hostname: "::", port: 8443 }
 * ```
 *
 * @module
 */
import { UsageError } from "./cli_io.ts";

const HOST_RE =
  /^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$/;

/** Parses `HOST:PORT` (IPv6 in brackets). */
export function parseListen(value: string): { hostname: string; port: number } {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^:\[\]]+):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  const host = m ? m[1].replace(/^\[|\]$/g, "") : "";
  const ipv4 = /^\d{1,3}(\.\d{1,3}){3}$/.test(host);
  const ok = m && port <= 65535 && (
    m[1].startsWith("[")
      ? host.includes(":")
      : ipv4
      ? host.split(".").every((o) => Number(o) <= 255)
      : HOST_RE.test(host) && !/^[\d.]+$/.test(host)
  );
  if (!ok) {
    throw new UsageError(
      `--listen ${value}: expected HOST:PORT, e.g. 127.0.0.1:8443, 0.0.0.0:8443, [::]:8443 or localhost:8443`,
    );
  }
  return { hostname: host, port };
}
