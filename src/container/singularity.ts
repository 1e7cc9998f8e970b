/**
 * The singularity runtime (the slides' `USE_CONTAINERS=SINGULARITY`), with
 * a sandbox (directory) image; same command line as apptainer. Not
 * installable on our CI hosts: its argv is golden-tested, and the real E2E
 * runs where the binary exists.
 *
 * @module
 */
import { APPTAINER_CAPABILITIES, apptainerCommand } from "./_apptainer_like.ts";
import type { Capabilities, ContainerDriver, LaunchSpec } from "./driver.ts";

/** Options of {@link SingularityDriver}. */
export interface SingularityOptions {
  /** The singularity program. @default "/usr/bin/singularity" */
  binary?: string;
}

/** Launches through `singularity exec`. */
export class SingularityDriver implements ContainerDriver {
  /** Runtime name as `USE_CONTAINERS` and the JDL spell it: `singularity`. */
  readonly name = "singularity" as const;
  /** Path of the `singularity` program the agent runs. */
  readonly binary: string;
  /** What a `singularity` launch guarantees (see {@link Capabilities}). */
  readonly capabilities: Capabilities = APPTAINER_CAPABILITIES;

  /** Creates the driver. */
  constructor(opts: SingularityOptions = {}) {
    this.binary = opts.binary ?? "/usr/bin/singularity";
  }

  /** The singularity argv for `spec`. */
  command(spec: LaunchSpec): string[] {
    return apptainerCommand(this.name, this.binary, spec);
  }
}
