/**
 * The apptainer runtime (Apptainer 1.x, singularity's successor), with
 * a sandbox (directory) image: the same command line as singularity
 * (see `_apptainer_like.ts`). Not installable here: covered by the
 * documented CLI and argv golden tests only.
 *
 * @module
 */
import {
  APPTAINER_CAPABILITIES,
  ApptainerLike,
  type ApptainerLikeOptions,
} from "./_apptainer_like.ts";
import type { Capabilities, ContainerDriver, LaunchSpec } from "./driver.ts";
import { findOnPath } from "./find_program.ts";

/** Options of {@link ApptainerDriver}. */
export type ApptainerOptions = ApptainerLikeOptions;

/**
 * Launches through `apptainer exec`.
 *
 * @example
 * ```ts
 * const d = new ApptainerDriver({ binary: "/opt/apptainer/bin/apptainer" });
 * const argv = d.command(spec); // /bin/sh -c … apptainer exec --containall … IMAGE …
 * ```
 */
export class ApptainerDriver implements ContainerDriver {
  /** Runtime name as `USE_CONTAINERS` and the JDL spell it: `apptainer`. */
  readonly name = "apptainer" as const;
  /** Path of the `apptainer` program the agent runs. */
  readonly binary: string;
  /** What a `apptainer` launch guarantees (see {@link Capabilities}). */
  readonly capabilities: Capabilities = APPTAINER_CAPABILITIES;
  readonly #impl: ApptainerLike;

  /** Creates the driver. */
  constructor(opts: ApptainerOptions = {}) {
    this.binary = opts.binary ?? findOnPath("apptainer") ?? "apptainer";
    this.#impl = new ApptainerLike("apptainer", this.binary, opts);
  }

  /** The singularity argv for `spec`. */
  command(spec: LaunchSpec): string[] {
    return this.#impl.command(spec);
  }

  /** Hands the sandbox to the payload uid when run as root. */
  prepare(spec: LaunchSpec): Promise<void> {
    return this.#impl.prepare(spec);
  }
}
