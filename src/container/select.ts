/**
 * Runtime selection from `USE_CONTAINERS` (as in the JAliEn slides).
 *
 * `auto` walks {@link AUTO_ORDER} and takes the first runtime whose probe
 * passes; a named runtime must probe OK or the agent refuses to match jobs
 * (it must not blackhole the queue). `none` has two variants: with the
 * pid-namespace reaper first, then plain (see `none.ts`).
 *
 * @module
 */
import { ApptainerDriver } from "./apptainer.ts";
import { RUNTIME_LAUNCHER } from "./_apptainer_like.ts";
import { BwrapDriver } from "./bwrap.ts";
import { DockerDriver } from "./docker.ts";
import {
  type ContainerDriver,
  ContainerError,
  type ProbeFn,
  type ProbeResult,
  type RuntimeName,
} from "./driver.ts";
import { findOnPath } from "./find_program.ts";
import { NoneDriver } from "./none.ts";
import { PodmanDriver } from "./podman.ts";
import { SingularityDriver } from "./singularity.ts";

/** Every runtime name `USE_CONTAINERS` accepts besides `auto`. */
export const RUNTIME_NAMES: readonly RuntimeName[] = [
  "none",
  "bwrap",
  "podman",
  "apptainer",
  "singularity",
  "docker",
];

/**
 * The order `auto` tries runtimes in: bwrap first (no daemon, no setuid,
 * dies with its parent, fastest start), then the OCI and HPC runtimes, and
 * `none` last, and only with `allowNoContainer` (see {@link SelectOptions}).
 */
export const AUTO_ORDER: readonly RuntimeName[] = [
  "bwrap",
  "podman",
  "apptainer",
  "singularity",
  "docker",
  "none",
];

/**
 * Default program path of each runtime (`none`: its reaper, setpriv).
 * singularity and apptainer have none: sites install them anywhere, so
 * they are looked up on PATH ({@link defaultBinary}).
 */
export const DEFAULT_BINARIES: Readonly<
  Record<Exclude<RuntimeName, "apptainer" | "singularity">, string>
> = {
  none: "/usr/bin/setpriv",
  bwrap: "/usr/bin/bwrap",
  podman: "/usr/bin/podman",
  docker: "/usr/bin/docker",
};

/** A runtime's default program: fixed, or found on PATH; undefined if absent. */
export function defaultBinary(name: RuntimeName): string | undefined {
  return name === "apptainer" || name === "singularity"
    ? findOnPath(name)
    : DEFAULT_BINARIES[name];
}

/** Options of {@link createDriver}. */
export interface DriverOptions {
  /** Override of the runtime program path. @default DEFAULT_BINARIES[name] */
  binary?: string;
}

/**
 * Makes the (preferred) driver for one runtime name.
 *
 * @example
 * ```ts
 * import { createDriver } from "./select.ts";
 * const bwrap = createDriver("bwrap");
 * const argv = bwrap.command({
 *   argv: ["/bin/true"],
 *   sandbox: "/scratch/pilot/job-42",
 *   binds: [],
 *   env: { PATH: "/usr/bin:/bin" },
 *   network: "none",
 * });
 * argv[0]; // "/usr/bin/bwrap"
 * ```
 */
export function createDriver(
  name: RuntimeName,
  opts: DriverOptions = {},
): ContainerDriver {
  return driverVariants(name, opts)[0];
}

/**
 * The drivers selection tries for one runtime name, best first: `none`
 * with its reaper, then plain; every other runtime has one.
 */
export function driverVariants(
  name: RuntimeName,
  opts: DriverOptions = {},
): ContainerDriver[] {
  const binary = opts.binary ?? defaultBinary(name);
  switch (name) {
    case "none":
      return [
        new NoneDriver({ setpriv: binary }),
        new NoneDriver({ reaper: false }),
      ];
    case "bwrap":
      return [new BwrapDriver({ binary })];
    case "podman":
      return [new PodmanDriver({ binary })];
    case "apptainer":
      return [new ApptainerDriver({ binary })];
    case "singularity":
      return [new SingularityDriver({ binary })];
    case "docker":
      return [new DockerDriver({ binary })];
    default:
      throw new ContainerError(
        `container runtime "${name}": expected one of ${
          RUNTIME_NAMES.join(", ")
        }`,
      );
  }
}

/**
 * Programs the agent must be allowed to run (`--allow-run`) to use
 * `wanted`: each runtime's launcher (for `none`: setpriv and, for its
 * plain variant, deno itself) — the role table's "container launcher".
 */
export function launcherPrograms(
  wanted: RuntimeName | "auto",
  opts: { binaries?: Partial<Record<RuntimeName, string>>; deno: string },
): string[] {
  const names = wanted === "auto" ? AUTO_ORDER : [wanted];
  const out = names.flatMap((n) =>
    n === "none" ? [opts.binaries?.none ?? DEFAULT_BINARIES.none, opts.deno] : [
      // singularity and apptainer start through their launcher script.
      ...(n === "singularity" || n === "apptainer" ? [RUNTIME_LAUNCHER] : []),
      opts.binaries?.[n] ?? defaultBinary(n),
    ].filter((b) => b !== undefined)
  );
  return [...new Set(out)];
}

/** Parses a `USE_CONTAINERS` value. */
export function parseRuntimeName(value: string): RuntimeName | "auto" {
  const v = value.trim().toLowerCase();
  if (v === "auto" || (RUNTIME_NAMES as string[]).includes(v)) {
    return v as RuntimeName | "auto";
  }
  throw new ContainerError(
    `USE_CONTAINERS=${value}: expected auto, ${RUNTIME_NAMES.join(", ")}`,
  );
}

/** Options of {@link selectRuntime}. */
export interface SelectOptions {
  /** Per-runtime program overrides. @default {} */
  binaries?: Partial<Record<RuntimeName, string>>;
  /** Runs the real probe (the wrapper's smoke check in the image). */
  probe: ProbeFn;
  /**
   * Lets `auto` fall back to `none` (no container) when nothing else
   * probes OK. Never the default: `none` confines only through Deno's
   * permissions (README "Threat model"). @default false
   */
  allowNoContainer?: boolean;
}

/** The outcome of selection: the driver and every probe that ran. */
export interface Selection {
  /** The chosen driver. */
  driver: ContainerDriver;
  /** Probes in the order they ran (for the agent's log). */
  probes: { name: RuntimeName; result: ProbeResult }[];
}

/**
 * Chooses the runtime. Throws {@link ContainerError} when a named runtime
 * fails its probe, or when `auto` finds nothing that works.
 *
 * @example
 * ```ts ignore
 * import { selectRuntime } from "./select.ts";
 * const { driver, probes } = await selectRuntime("auto", {
 *   probe: (d) => probeRuntime(d, { program, workRoot, broker }),
 * });
 * for (const p of probes) console.error(p.name, p.result.ok);
 * driver.name; // e.g. "bwrap"
 * ```
 */
export async function selectRuntime(
  wanted: RuntimeName | "auto",
  opts: SelectOptions,
): Promise<Selection> {
  const probes: Selection["probes"] = [];
  const names = wanted !== "auto"
    ? [wanted]
    : opts.allowNoContainer
    ? AUTO_ORDER
    : AUTO_ORDER.filter((n) => n !== "none");
  for (const name of names) {
    const variants = driverVariants(name, { binary: opts.binaries?.[name] });
    for (const driver of variants) {
      const result = await opts.probe(driver);
      probes.push({ name, result });
      if (result.ok) return { driver, probes };
    }
  }
  const detail = probes.map((p) => `${p.name}: ${p.result.message}`).join(
    "; ",
  );
  const optIn = wanted === "auto" && !opts.allowNoContainer
    ? "; auto never falls back to none (no container): pass --allow-no-container or USE_CONTAINERS=none to run jobs without one"
    : "";
  throw new ContainerError(
    `no usable container runtime for USE_CONTAINERS=${wanted} (${
      detail || "nothing probed"
    })${optIn}`,
  );
}
