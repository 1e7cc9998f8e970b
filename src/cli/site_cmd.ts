/**
 * `splitpilot site …`: what a site needs from the broker side.
 *
 * - `site publish --state DIR [--dist dist/]` copies a build's packed
 *   artefacts into `DIR/artefacts/`, from which the broker serves them to
 *   agents (`GET /api/v1/artefacts/<name>`).
 * - `site script --state DIR --broker HOST:PORT --cores N --ttl T
 *   --agent-token-ttl T --out FILE [--site S] [--ce CE] [--subject NAME]`
 *   issues a JOB_AGENT token from the CA in `DIR` and writes the batch-queue
 *   startup script (see `src/site/startup_script.ts`), mode 0700, pinned to
 *   the published artefacts' sha-256.
 *
 * Exit codes: 0 ok, 1 failure, 2 bad usage or input.
 *
 * @module
 */
import { parseDuration, readPemFile, TokenIssuer } from "../token/mod.ts";
import { artefactName } from "../build/site_layout.ts";
import { publishArtefacts, publishedSha256 } from "../site/artefact_store.ts";
import { renderStartupScript } from "../site/startup_script.ts";
import {
  type CliIo,
  CONSOLE_IO,
  fail,
  parseFlags as parseArgs,
  UsageError,
  wantsJson,
} from "./cli_io.ts";
import { siteStatus } from "./site_status.ts";
import { COMMON_FLAGS } from "./_user_cli.ts";

/** Usage text. */
export const SITE_USAGE = `usage:
  splitpilot site publish --state DIR [--dist dist/]
  splitpilot site script --state DIR --broker HOST:PORT --cores N --ttl T
        --agent-token-ttl T --out FILE [--site S] [--ce CE] [--subject NAME]
  splitpilot site status [--json] [--broker URL] [--token DIR]
  (T: seconds or a duration such as 90m, 12h, 2d)
status: per site, pilots queued/running/finished/failed (from its factory),
agents seen in the last hour, jobs running, last contact, recent failures.
${COMMON_FLAGS}
examples:
  splitpilot site publish --state ~/.splitpilot/state --dist dist/
  splitpilot site script --state ~/.splitpilot/state --broker broker.example.org:8443 --cores 8 --ttl 12h --agent-token-ttl 2d --out start.sh
  splitpilot site status`;

function required(f: Record<string, unknown>, name: string): string {
  const v = f[name];
  if (typeof v !== "string" || v === "") {
    throw new UsageError(`--${name} is required`);
  }
  return v;
}

async function publish(args: string[], io: CliIo): Promise<number> {
  const f = parseArgs(args, { string: ["state", "dist"] });
  if (f._.length) throw new UsageError(`unexpected argument "${f._[0]}"`);
  const state = required(f, "state");
  const dist = f.dist ?? "dist";
  for (const a of await publishArtefacts(dist, state)) {
    io.out(
      `published ${a.name} (${
        (a.size / 2 ** 20).toFixed(1)
      } MiB, sha256 ${a.sha256})`,
    );
  }
  return 0;
}

async function script(args: string[], io: CliIo): Promise<number> {
  const f = parseArgs(args, {
    string: [
      "state",
      "broker",
      "cores",
      "ttl",
      "agent-token-ttl",
      "out",
      "site",
      "ce",
      "subject",
    ],
  });
  if (f._.length) throw new UsageError(`unexpected argument "${f._[0]}"`);
  const state = required(f, "state");
  const broker = required(f, "broker");
  if (!/^[^\s:'"]+:\d{1,5}$|^\[[0-9a-fA-F:.]+\]:\d{1,5}$/.test(broker)) {
    throw new UsageError(
      `--broker ${broker}: expected HOST:PORT, e.g. broker.example.org:8443`,
    );
  }
  const cores = Number(required(f, "cores"));
  if (!Number.isInteger(cores) || cores < 1) {
    throw new UsageError(`--cores ${f.cores}: expected an integer >= 1`);
  }
  const ttl = parseDuration(required(f, "ttl"));
  const tokenTtl = parseDuration(required(f, "agent-token-ttl"));
  const out = required(f, "out");
  const site = f.site ?? "local";
  const issuer = await TokenIssuer.fromPem({
    certPem: await readPemFile(`${state}/ca/ca.pem`, "CERTIFICATE"),
    keyPem: await readPemFile(`${state}/ca/ca.key`, "PRIVATE KEY"),
  });
  const agentSha256 = await publishedSha256(state, artefactName("agent"));
  const wrapperSha256 = await publishedSha256(state, artefactName("wrapper"));
  const token = await issuer.issue({
    role: "JOB_AGENT",
    subject: f.subject ?? site,
    ttlSeconds: tokenTtl,
  });
  const text = renderStartupScript({
    broker,
    token,
    caPem: issuer.caCertPem,
    agentSha256,
    wrapperSha256,
    cores,
    ttlSeconds: ttl,
    site,
    ce: f.ce,
    tokenNotAfter: new Date(Date.now() + tokenTtl * 1000),
  });
  const tmp = `${out}.tmp-${crypto.randomUUID()}`;
  try {
    await Deno.writeTextFile(tmp, text, { createNew: true, mode: 0o700 });
    await Deno.chmod(tmp, 0o700);
    await Deno.rename(tmp, out);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  io.out(
    `wrote ${out} (mode 0700): JOB_AGENT token for ${
      f.subject ?? site
    } valid ${tokenTtl} s, slot ${cores} core(s) for ${ttl} s, broker ${broker}`,
  );
  return 0;
}

/**
 * Runs `site publish|script`: serves the built artefacts to agents, or
 * writes a batch startup script with an embedded agent token. Returns the exit
 * code.
 *
 * @example
 * ```ts ignore
 * import { main } from "./site_cmd.ts";
 * Deno.exit(await main([
 *   "script", "--state", "/var/lib/splitpilot", "--broker",
 *   "grid.example.org:8443", "--cores", "8", "--ttl", "86400",
 *   "--agent-token-ttl", "2d", "--out", "pilot.sh",
 * ]));
 * ```
 */
export async function main(
  args: string[],
  io: CliIo = CONSOLE_IO,
): Promise<number> {
  try {
    const [sub, ...rest] = args;
    if (rest.includes("--help") || rest.includes("-h")) {
      io.out(SITE_USAGE);
      return 0;
    }
    switch (sub) {
      case "publish":
        return await publish(rest, io);
      case "script":
        return await script(rest, io);
      case "status": {
        const f = parseArgs(rest, {
          string: ["broker", "token"],
          boolean: ["json"],
        });
        if (f._.length) throw new UsageError(`unexpected argument "${f._[0]}"`);
        try {
          return await siteStatus(f, io);
        } catch (e) {
          return fail(io, e, { json: wantsJson(rest) });
        }
      }
      case "help":
      case "--help":
      case "-h":
        io.out(SITE_USAGE);
        return 0;
      default:
        throw new UsageError(
          `${
            sub === undefined
              ? "missing subcommand"
              : `unknown subcommand "${sub}"`
          } (expected publish, script or status)`,
        );
    }
  } catch (e) {
    return fail(io, e);
  }
}
