/**
 * `splitpilot site status`: per site, the pilots its factory has queued,
 * running and ended, the agents seen in the last hour, the jobs running on
 * them, the last contact, and the latest pilot failures with their reasons.
 *
 * @module
 */
import type { SiteView } from "../broker/site_registry.ts";
import type { CliIo } from "./cli_io.ts";
import { connect, formatSeconds, table } from "./_user_cli.ts";

/** The lines `site status` prints for `sites` at time `now` (ms). */
export function formatSiteStatus(
  sites: SiteView[],
  now: number = Date.now(),
): string[] {
  if (sites.length === 0) return ["no site has been seen yet"];
  const ago = (t?: number) =>
    t === undefined ? "-" : `${formatSeconds((now - t) / 1000)} ago`;
  const lines = table(
    [
      "SITE",
      "BATCH",
      "QUEUED",
      "RUNNING",
      "FINISHED",
      "FAILED",
      "AGENTS",
      "CORES",
      "JOBS",
      "LAST CONTACT",
    ],
    sites.map((s) => [
      s.site,
      s.factory?.batch,
      s.factory?.pilots.queued,
      s.factory?.pilots.running,
      s.factory?.pilots.finished,
      s.factory?.pilots.failed,
      s.agents,
      s.cores,
      s.jobsRunning,
      ago(s.lastContact),
    ]),
  );
  for (const s of sites) {
    if (s.factory?.backoffUntil && s.factory.backoffUntil > now) {
      lines.push(
        `${s.site}: backing off for ${
          formatSeconds((s.factory.backoffUntil - now) / 1000)
        } (pilots died young)`,
      );
    }
    for (const f of (s.factory?.failures ?? []).slice(-5)) {
      lines.push(`${s.site}: pilot ${f.id} failed ${ago(f.at)}: ${f.reason}`);
    }
  }
  return lines;
}

/**
 * Runs `site status [--json]` with the user's broker flags: each site's
 * agents, pilots and waiting jobs.
 *
 * @example
 * ```ts ignore
 * import { CONSOLE_IO } from "./ca_cmd.ts";
 * import { siteStatus } from "./site_status.ts";
 * // flags as parsed from `site status --json --broker URL --token DIR`:
 * Deno.exit(await siteStatus({ json: true }, CONSOLE_IO));
 * ```
 */
export async function siteStatus(
  flags: Record<string, unknown>,
  io: CliIo,
): Promise<number> {
  const client = await connect(flags);
  try {
    const r = await client.json<{ sites: SiteView[] }>("GET", "/api/v1/sites");
    const sites = r?.sites ?? [];
    if (flags.json) io.out(JSON.stringify({ sites }));
    else for (const l of formatSiteStatus(sites)) io.out(l);
    return 0;
  } finally {
    client.close();
  }
}
