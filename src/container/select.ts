/**
 * Runtime selection from `USE_CONTAINERS` (as in the JAliEn slides).
 *
 * `auto` walks {@link AUTO_ORDER} and takes the first runtime whose binary
 * exists and whose probe passes; a named runtime must probe OK or the agent
 * refuses to match jobs (it must not blackhole the queue).
 *
 * @module
 */
import { BwrapDriver } from "./bwrap.ts";
import {
  type ContainerDriver,
  ContainerError,
  type ProbeResult,
  type RuntimeName,
} from "./driver.ts";
import { NoneDriver } from "./none.ts";

/** Every runtime name `USE_CONTAINERS` accepts besides `auto`. */
export const RUNTIME_NAMES: readonly RuntimeName[] = [
  "none",
  "bwrap",
  "podman",
  "apptainer",
  "singularity",
  "docker",
];

/** The order `auto` tries runtimes in: the lightest isolation first. */
export const AUTO_ORDER: readonly RuntimeName[] = ["bwrap", "none"];

/** Default program path of each runtime. */
export const DEFAULT_BINARIES: Readonly<Record<RuntimeName, string>> = {
  none: "",
  bwrap: "/usr/bin/bwrap",
  podman: "/usr/bin/podman",
  apptainer: "/usr/bin/apptainer",
  singularity: "/usr/bin/singularity",
  docker: "/usr/bin/docker",
};

/** Options of {@link createDriver}. */
export interface DriverOptions {
  /** Override of the runtime program path. @default DEFAULT_BINARIES[name] */
  binary?: string;
}

/** Makes the driver for one runtime name. */
export function createDriver(
  name: RuntimeName,
  opts: DriverOptions = {},
): ContainerDriver {
  const binary = opts.binary ?? DEFAULT_BINARIES[name];
  switch (name) {
    case "none":
      return new NoneDriver();
    case "bwrap":
      return new BwrapDriver({ binary });
    default:
      throw new ContainerError(
        `container runtime "${name}" is not implemented yet; expected one of: none, bwrap`,
      );
  }
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
  probe: (driver: ContainerDriver) => Promise<ProbeResult>;
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
 */
export async function selectRuntime(
  wanted: RuntimeName | "auto",
  opts: SelectOptions,
): Promise<Selection> {
  const probes: Selection["probes"] = [];
  const names = wanted === "auto" ? AUTO_ORDER : [wanted];
  for (const name of names) {
    let driver: ContainerDriver;
    try {
      driver = createDriver(name, { binary: opts.binaries?.[name] });
    } catch (e) {
      if (wanted !== "auto") throw e;
      continue;
    }
    const result = await opts.probe(driver);
    probes.push({ name, result });
    if (result.ok) return { driver, probes };
  }
  const detail = probes.map((p) => `${p.name}: ${p.result.message}`).join(
    "; ",
  );
  throw new ContainerError(
    `no usable container runtime for USE_CONTAINERS=${wanted} (${
      detail || "nothing probed"
    })`,
  );
}
