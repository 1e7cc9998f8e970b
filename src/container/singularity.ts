/**
 * The singularity runtime (the slides' `USE_CONTAINERS=SINGULARITY`), with
 * a sandbox (directory) image: Singularity 2.6+ and 3.x/4.x through one
 * command line (see `_apptainer_like.ts`). Run for real in CI against
 * Singularity 2.6.1 built from source.
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

/** Options of {@link SingularityDriver}. */
export type SingularityOptions = ApptainerLikeOptions;

/**
 * Launches through `singularity exec`.
 *
 * @example
 * ```ts
 * const d = new SingularityDriver({ binary: "/opt/singularity-2.6.1/bin/singularity" });
 * const argv = d.command(spec); // /bin/sh -c … singularity exec --containall … IMAGE …
 * ```
 */
export class SingularityDriver implements ContainerDriver {
  /** Runtime name as `USE_CONTAINERS` and the JDL spell it: `singularity`. */
  readonly name = "singularity" as const;
  /** Path of the `singularity` program the agent runs. */
  readonly binary: string;
  /** What a `singularity` launch guarantees (see {@link Capabilities}). */
  readonly capabilities: Capabilities = APPTAINER_CAPABILITIES;
  readonly #impl: ApptainerLike;

  /** Creates the driver. */
  constructor(opts: SingularityOptions = {}) {
    this.binary = opts.binary ?? findOnPath("singularity") ?? "singularity";
    this.#impl = new ApptainerLike("singularity", this.binary, opts);
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
