/**
 * The `host:port` addresses of a list of broker URLs, for Deno's
 * `--allow-net`: a process that may fail over between broker replicas
 * must be allowed to reach every one of them, and nothing else.
 *
 * @module
 */
/**
 * The broker URLs in `list`: one URL, URLs separated by commas or
 * whitespace, or an array of those; trailing slashes dropped.
 */
export function brokerUrls(list: string | readonly string[]): string[] {
  return (typeof list === "string" ? [list] : [...list])
    .flatMap((u) => u.split(/[\s,]+/))
    .filter(Boolean)
    .map((u) => u.replace(/\/+$/, ""));
}

/**
 * `host:port` of each https URL in `list` (commas or whitespace between
 * URLs), joined by single spaces: the form the permission table's
 * `broker` entries take. Throws a TypeError naming `flag` for a URL that
 * is not `https://HOST[:PORT]`.
 *
 * @example
 * ```ts
 * import { brokerAddresses } from "./broker_addresses.ts";
 * brokerAddresses("https://a:8443,https://b:8443"); // "a:8443 b:8443"
 * ```
 */
export function brokerAddresses(list: string, flag = "--broker"): string {
  const urls = brokerUrls(list);
  if (urls.length === 0) throw new TypeError(`${flag}: no broker URL`);
  return urls.map((url) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw new TypeError(`${flag} ${url}: expected https://HOST:PORT`);
    }
    if (u.protocol !== "https:") {
      throw new TypeError(`${flag} ${url}: expected an https:// URL`);
    }
    return `${u.hostname}:${u.port || "443"}`;
  }).join(" ");
}

/** The addresses of a permission entry made by {@link brokerAddresses}. */
export function splitAddresses(entry: string): string[] {
  return entry.split(/\s+/).filter(Boolean);
}
