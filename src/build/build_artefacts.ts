/**
 * `deno task build`: one artefact per role — agent, wrapper, broker/CLI —
 * each carrying exactly its role's permission flags from the role table
 * (`src/permissions/table.ts`), never `-A`.
 *
 * Two forms:
 *
 * - **offline** (always built, and what CI tests): `deno bundle` output +
 *   the Deno runtime that runs the build (the pinned one) + a launcher
 *   whose flags are fixed ({@link ./launcher_script.ts}), packed as one
 *   self-extracting `splitpilot-<role>.run` per role
 *   ({@link ./self_extracting.ts}) with a `.sha256` file, plus
 *   `SHA256SUMS` and `manifest.json`.
 * - **compile** (only when `DENORT_BIN` names a `denort` for this Deno):
 *   `deno compile` of the agent and broker bundles with the flags baked in,
 *   in `compiled/` ({@link ./compile_command.ts}). `denort` cannot be
 *   downloaded on our machines, so this form is not exercised here.
 *
 * Paths that differ per site are derived at launch from one work directory
 * argument ({@link ./site_layout.ts}); the broker address is baked.
 *
 * @module
 */
import {
  agentPermissions,
  brokerPermissions,
  type PermissionSet,
  type ProcessRole,
  wrapperPermissions,
} from "../permissions/table.ts";
import { BuildError, bundleEntry } from "./bundle.ts";
import {
  COMPILED_ROLES,
  compiledFlags,
  compileRole,
} from "./compile_command.ts";
import {
  launcherFlags,
  renderLauncher,
  RUN_MARK,
  WORKDIR_MARK,
} from "./launcher_script.ts";
import { ALLOW_RUN_FILE } from "../protocol/programs.ts";
import { cachedRuntime } from "./runtime_cache.ts";
import { gunzippedSha256, packArtefact } from "./self_extracting.ts";
import { HELPER_DIR, helperSources } from "../watchdog/helpers.ts";
import {
  artefactName,
  bundleName,
  siteAgentContext,
  siteBrokerContext,
  siteLayout,
  siteWrapperContext,
} from "./site_layout.ts";

/** Every role, in build order. */
export const BUILD_ROLES: readonly ProcessRole[] = [
  "agent",
  "wrapper",
  "broker",
];

/** Entry module of each role, relative to the repository root. */
export const ENTRIES: Readonly<Record<ProcessRole, string>> = {
  agent: "agent.ts",
  wrapper: "wrapper.ts",
  broker: "src/cli/main.ts",
};

/** Options of {@link buildArtefacts}. */
export interface BuildOptions {
  /** Broker `host:port` the agent and wrapper talk to. */
  broker: string;
  /** The broker's listen `host:port`. @default broker */
  listen?: string;
  /** Output directory. @default "dist" */
  out?: string;
  /** Where the compressed runtime is cached. @default `${out}/.cache` */
  cacheDir?: string;
  /** Repository root. @default this checkout */
  root?: string;
  /** The Deno runtime to ship (and bundle with). @default Deno.execPath() */
  deno?: string;
  /** A `denort` for the compile form. @default env DENORT_BIN, else none */
  denort?: string;
  /** Progress lines. @default no output */
  log?: (line: string) => void;
}

/** One built file. */
export interface BuiltArtefact {
  /** The role. */
  role: ProcessRole;
  /** Which form. */
  form: "offline" | "compile";
  /** Absolute path. */
  path: string;
  /** File name. */
  name: string;
  /** SHA-256 (hex). */
  sha256: string;
  /** Size in bytes. */
  size: number;
  /** Size of the bundle inside, bytes. */
  bundleSize: number;
  /** The Deno flags, with `${W}` for the work directory. */
  flags: string[];
}

/** What {@link buildArtefacts} produced. */
export interface BuildResult {
  /** Output directory (absolute). */
  out: string;
  /** Broker address baked in. */
  broker: string;
  /** Broker listen address baked in. */
  listen: string;
  /** Runtime version. */
  denoVersion: string;
  /** Runtime size, bytes (uncompressed). */
  runtimeSize: number;
  /** Built files. */
  artefacts: BuiltArtefact[];
  /** The `manifest.json` path. */
  manifest: string;
  /** Wall time of the build, ms. */
  ms: number;
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/** Checks a `host:port`; throws a one-line error naming the flag. */
export function parseHostPort(value: string, flag: string): string {
  const m = HOST_PORT.exec(value);
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
    throw new BuildError(
      `${flag} ${value}: expected HOST:PORT, e.g. 127.0.0.1:8443`,
    );
  }
  return value;
}

/**
 * The role's permissions as the launcher bakes them, with
 * {@link WORKDIR_MARK} for the work directory (and, for the wrapper,
 * {@link RUN_MARK} for the per-job run list).
 */
export function templatePermissions(
  role: ProcessRole,
  broker: string,
  listen = broker,
): PermissionSet {
  switch (role) {
    case "agent":
      return agentPermissions(siteAgentContext(WORKDIR_MARK, broker));
    case "wrapper":
      return wrapperPermissions(
        siteWrapperContext(WORKDIR_MARK, [RUN_MARK]),
      );
    case "broker":
      return brokerPermissions(siteBrokerContext(WORKDIR_MARK, listen));
  }
}

function launcherFor(role: ProcessRole, broker: string, listen: string) {
  const l = siteLayout(WORKDIR_MARK);
  const permissions = templatePermissions(role, broker, listen);
  const common = { role, permissions, bundle: bundleName(role), broker };
  switch (role) {
    case "agent":
      return renderLauncher({
        ...common,
        fixedArgs: [
          "--broker",
          `https://${broker}`,
          "--token",
          l.tokenDir,
          "--work",
          l.workRoot,
          "--wrapper",
          l.wrapperDir,
        ],
        requires: ["token/cert.pem", "rt/wrapper/run"],
      });
    case "wrapper":
      return renderLauncher({
        ...common,
        fixedArgs: ["--workdir", WORKDIR_MARK],
        runListFile: ALLOW_RUN_FILE,
      });
    case "broker":
      return renderLauncher({ ...common, broker: listen, fixedArgs: [] });
  }
}

/** Shows a template flag with `${W}` for the work directory. */
function showFlag(flag: string): string {
  return flag.replaceAll(WORKDIR_MARK, "${W}").replaceAll(
    RUN_MARK,
    "<per job>",
  );
}

async function sha256Line(path: string, name: string, sha: string) {
  await Deno.writeTextFile(`${path}.sha256`, `${sha}  ${name}\n`);
}

/** Builds every role into `opts.out`. */
export async function buildArtefacts(opts: BuildOptions): Promise<BuildResult> {
  const t0 = performance.now();
  const broker = parseHostPort(opts.broker, "--broker");
  const listen = parseHostPort(opts.listen ?? broker, "--listen");
  const log = opts.log ?? (() => {});
  const root = opts.root ??
    new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
  const outRel = opts.out ?? "dist";
  await Deno.mkdir(outRel, { recursive: true });
  const out = await Deno.realPath(outRel);
  const deno = opts.deno ?? Deno.execPath();
  const denort = opts.denort ?? Deno.env.get("DENORT_BIN") ?? undefined;
  const runtime = await cachedRuntime(deno, opts.cacheDir ?? `${out}/.cache`);
  log(
    `runtime: Deno ${Deno.version.deno} (${deno}), ${
      (runtime.runtimeSize / 2 ** 20).toFixed(1)
    } MiB, gzipped ${(runtime.size / 2 ** 20).toFixed(1)} MiB`,
  );
  const runtimeSha256 = await gunzippedSha256(runtime.path);
  const helpers: Record<string, Uint8Array> = {};
  for (const [name, path] of Object.entries(helperSources())) {
    helpers[`${HELPER_DIR}/${name}`] = await Deno.readFile(path);
  }
  const artefacts: BuiltArtefact[] = [];
  const bundles = new Map<ProcessRole, string>();
  for (const role of BUILD_ROLES) {
    const bundle = await bundleEntry(ENTRIES[role], { root, deno });
    const bundlePath = `${out}/.cache/${bundleName(role)}`;
    await Deno.mkdir(`${out}/.cache`, { recursive: true });
    await Deno.writeFile(bundlePath, bundle);
    bundles.set(role, bundlePath);
    const name = artefactName(role);
    const packed = await packArtefact({
      role,
      broker: role === "broker" ? listen : broker,
      denoVersion: Deno.version.deno,
      runtimeGz: runtime.path,
      runtimeGzSha256: runtime.sha256,
      runtimeSha256,
      extras: role === "agent" ? helpers : undefined,
      bundle,
      launcher: launcherFor(role, broker, listen),
      out: `${out}/${name}`,
    });
    await sha256Line(packed.path, name, packed.sha256);
    const flags = launcherFlags(templatePermissions(role, broker, listen))
      .map(showFlag);
    if (role === "wrapper") flags.push("--allow-run=<per job>");
    artefacts.push({
      role,
      form: "offline",
      path: packed.path,
      name,
      sha256: packed.sha256,
      size: packed.size,
      bundleSize: bundle.byteLength,
      flags,
    });
    log(
      `${name}: ${(packed.size / 2 ** 20).toFixed(1)} MiB (bundle ${
        (bundle.byteLength / 1024).toFixed(0)
      } KiB) sha256 ${packed.sha256.slice(0, 16)}…`,
    );
  }
  if (denort) {
    await Deno.mkdir(`${out}/compiled`, { recursive: true });
    for (const role of COMPILED_ROLES) {
      const name = `splitpilot-${role}`;
      const path = `${out}/compiled/${name}`;
      const peer = role === "broker" ? listen : broker;
      await compileRole({
        role,
        bundle: bundles.get(role)!,
        out: path,
        broker: peer,
        deno,
        denort,
      });
      const data = await Deno.readFile(path);
      const sha256 = await sha256Hex(data);
      await sha256Line(path, name, sha256);
      artefacts.push({
        role,
        form: "compile",
        path,
        name: `compiled/${name}`,
        sha256,
        size: data.byteLength,
        bundleSize: (await Deno.stat(bundles.get(role)!)).size,
        flags: compiledFlags(role, peer),
      });
      log(`compiled/${name}: ${(data.byteLength / 2 ** 20).toFixed(1)} MiB`);
    }
  } else {
    log(
      "compile form skipped: DENORT_BIN is not set (denort cannot be downloaded here)",
    );
  }
  await Deno.writeTextFile(
    `${out}/SHA256SUMS`,
    artefacts.map((a) => `${a.sha256}  ${a.name}\n`).join(""),
  );
  const result: BuildResult = {
    out,
    broker,
    listen,
    denoVersion: Deno.version.deno,
    runtimeSize: runtime.runtimeSize,
    artefacts,
    manifest: `${out}/manifest.json`,
    ms: 0,
  };
  result.ms = performance.now() - t0;
  await Deno.writeTextFile(
    result.manifest,
    JSON.stringify(
      {
        broker,
        listen,
        denoVersion: result.denoVersion,
        builtAt: new Date().toISOString(),
        artefacts: artefacts.map(({ path: _p, ...a }) => a),
      },
      null,
      2,
    ) + "\n",
  );
  return result;
}

async function sha256Hex(data: Uint8Array): Promise<string> {
  const d = new Uint8Array(
    await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>),
  );
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}
