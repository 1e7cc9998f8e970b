/**
 * Which singularity or apptainer we drive, from its `--version`, and the
 * flags that differ between versions. One driver covers Singularity 2.6+,
 * 3.x/4.x and Apptainer 1.x; only these choices depend on the version:
 *
 * | | Singularity 2.6 | Singularity 3.x/4.x | Apptainer 1.x |
 * |---|---|---|---|
 * | environment inside | `SINGULARITYENV_K` | `SINGULARITYENV_K` | `APPTAINERENV_K` |
 * | network none | `--net` (lo only) | `--net --network none` | `--net --network none` |
 *
 * `--env` is never used: it exists only from Singularity 3.6 and
 * Apptainer 1.0 on. Everything else (`exec --containall --no-home
 * --cleanenv --pid --ipc --bind --pwd`) is the same in all of them.
 *
 * @module
 */
import { ContainerError } from "./driver.ts";

/** A parsed runtime version. */
export interface RuntimeVersion {
  /** `singularity` or `apptainer` (apptainer reports its own name). */
  flavor: "singularity" | "apptainer";
  /** Major version. */
  major: number;
  /** Minor version. */
  minor: number;
  /** The `--version` line as printed. */
  text: string;
}

/** The version-dependent choices of one runtime binary. */
export interface VersionFlags {
  /** Prefix of the variables that set the environment inside. */
  envPrefix: "SINGULARITYENV_" | "APPTAINERENV_";
  /** Flags for a container without network. */
  networkNone: string[];
}

/**
 * Parses `singularity --version` / `apptainer --version` output:
 * `2.6.1-dist`, `singularity version 3.8.7`, `singularity-ce version
 * 4.1.0`, `apptainer version 1.2.5`.
 *
 * @example
 * ```ts
 * parseRuntimeVersion("2.6.1-dist", "singularity"); // { flavor: "singularity", major: 2, minor: 6, … }
 * ```
 */
export function parseRuntimeVersion(
  output: string,
  name: "singularity" | "apptainer",
): RuntimeVersion {
  const text = output.trim().split("\n")[0] ?? "";
  const m = /(\d+)\.(\d+)(?:\.\d+)?/.exec(text);
  if (!m) {
    throw new ContainerError(
      `${name} --version printed ${
        JSON.stringify(text.slice(0, 80))
      }; expected a version like 2.6.1 or "apptainer version 1.2.5"`,
    );
  }
  const flavor = /apptainer/i.test(text) || name === "apptainer"
    ? "apptainer"
    : "singularity";
  return { flavor, major: Number(m[1]), minor: Number(m[2]), text };
}

/** The flags for `v`. Singularity before 2.6 is refused. */
export function versionFlags(v: RuntimeVersion): VersionFlags {
  if (
    v.flavor === "singularity" &&
    (v.major < 2 || (v.major === 2 && v.minor < 6))
  ) {
    throw new ContainerError(
      `singularity ${v.text} is too old; expected 2.6 or newer`,
    );
  }
  return {
    envPrefix: v.flavor === "apptainer" ? "APPTAINERENV_" : "SINGULARITYENV_",
    // --network came with 3.0; in 2.x --net alone makes a namespace with lo.
    networkNone: v.flavor === "singularity" && v.major < 3
      ? ["--net"]
      : ["--net", "--network", "none"],
  };
}

/** One line for the agent's log saying what was chosen and why. */
export function describeFlags(
  binary: string,
  v: RuntimeVersion,
  f: VersionFlags,
): string {
  return `${v.flavor} ${v.text} (${binary}): environment via ${f.envPrefix}*, network none via ${
    f.networkNone.join(" ")
  }`;
}

/** Runs `binary --version` (synchronously: drivers build argv synchronously). */
export function detectRuntimeVersion(
  binary: string,
  name: "singularity" | "apptainer",
): RuntimeVersion {
  let out: Deno.CommandOutput;
  try {
    out = new Deno.Command(binary, {
      args: ["--version"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      clearEnv: true,
      env: { PATH: "/usr/bin:/bin", LANG: "C" },
    }).outputSync();
  } catch (e) {
    throw new ContainerError(
      `${name}: cannot run ${binary} --version (${
        (e as Error).message
      }); expected ${name} on PATH or --runtime-binary ${name}=PATH`,
    );
  }
  const dec = new TextDecoder();
  if (!out.success) {
    throw new ContainerError(
      `${name}: ${binary} --version failed (exit ${out.code}): ${
        dec.decode(out.stderr).trim().slice(0, 200)
      }`,
    );
  }
  return parseRuntimeVersion(dec.decode(out.stdout), name);
}
