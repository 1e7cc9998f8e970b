/**
 * Test helpers for the built artefacts: build for a grid's broker (with a
 * shared runtime cache, so only the first build compresses the runtime),
 * and run the built agent in a prepared site work dir.
 *
 * @module
 */
import {
  buildArtefacts,
  type BuildResult,
  type BuiltArtefact,
} from "../src/build/mod.ts";
import type { ProcessRole } from "../src/permissions/table.ts";
import { agentCommand } from "../src/launch/role_process.ts";
import { prepareSiteDir } from "../src/site/mod.ts";
import type { Grid } from "./_grid.ts";

/** Runtime cache shared by every test build. */
export const BUILD_CACHE = `${
  Deno.env.get("TMPDIR") ?? "/tmp"
}/splitpilot-build-cache`;

/** The broker `host:port` of a grid. */
export function brokerAddr(grid: Grid): string {
  return new URL(grid.url).host;
}

/** Builds every role for the grid's broker into `<grid.dir>/dist`. */
export function buildFor(grid: Grid): Promise<BuildResult> {
  return buildArtefacts({
    broker: brokerAddr(grid),
    out: `${grid.dir}/dist`,
    cacheDir: BUILD_CACHE,
  });
}

/** The offline artefact of `role`. */
export function artefactOf(
  build: BuildResult,
  role: ProcessRole,
): BuiltArtefact {
  const a = build.artefacts.find((x) =>
    x.role === role && x.form === "offline"
  );
  if (!a) throw new Error(`no offline ${role} artefact in ${build.out}`);
  return a;
}

/** Options of {@link runBuiltAgent}. */
export interface BuiltAgentRun {
  /** Runtime. */
  containers: "bwrap" | "none";
  /** Agent flags. @default ["--max-empty", "1", "--heartbeat", "2"] */
  extraArgs?: string[];
  /** Extra environment (e.g. DENO_AUDIT_PERMISSIONS). @default {} */
  env?: Record<string, string>;
  /** Kill after this long, ms. @default 120000 */
  timeoutMs?: number;
}

/** Runs the built agent in `<grid.dir>/site` until it exits. */
export async function runBuiltAgent(
  grid: Grid,
  build: BuildResult,
  opts: BuiltAgentRun,
): Promise<{ code: number; log: string; stdout: string; siteDir: string }> {
  const layout = await prepareSiteDir(`${grid.dir}/site`, {
    tokenDir: grid.agentTokenDir,
    wrapperArtefact: artefactOf(build, "wrapper").path,
  });
  const { cmd, args } = agentCommand({
    broker: grid.url,
    tokenDir: layout.tokenDir,
    workRoot: layout.workRoot,
    containers: opts.containers,
    artefact: artefactOf(build, "agent").path,
    siteDir: layout.workDir,
    extraArgs: opts.extraArgs ?? ["--max-empty", "1", "--heartbeat", "2"],
  });
  const child = new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...opts.env },
  }).spawn();
  const timer = setTimeout(
    () => child.kill("SIGKILL"),
    opts.timeoutMs ?? 120_000,
  );
  const out = await child.output();
  clearTimeout(timer);
  const dec = new TextDecoder();
  return {
    code: out.code,
    log: dec.decode(out.stderr),
    stdout: dec.decode(out.stdout),
    siteDir: layout.workDir,
  };
}
