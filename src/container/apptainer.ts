/**
 * The apptainer runtime with a sandbox (directory) image. Not installable
 * on our CI hosts: its argv is golden-tested, and the real E2E runs where
 * the binary exists.
 *
 * @module
 */
import { APPTAINER_CAPABILITIES, apptainerCommand } from "./_apptainer_like.ts";
import type { Capabilities, ContainerDriver, LaunchSpec } from "./driver.ts";

/** Options of {@link ApptainerDriver}. */
export interface ApptainerOptions {
  /** The apptainer program. @default "/usr/bin/apptainer" */
  binary?: string;
}

/** Launches through `apptainer exec`. */
export class ApptainerDriver implements ContainerDriver {
  /** Runtime name as `USE_CONTAINERS` and the JDL spell it: `apptainer`. */
  readonly name = "apptainer" as const;
  /** Path of the `apptainer` program the agent runs. */
  readonly binary: string;
  /** What a `apptainer` launch guarantees (see {@link Capabilities}). */
  readonly capabilities: Capabilities = APPTAINER_CAPABILITIES;

  /** Creates the driver. */
  constructor(opts: ApptainerOptions = {}) {
    this.binary = opts.binary ?? "/usr/bin/apptainer";
  }

  /** The apptainer argv for `spec`. */
  command(spec: LaunchSpec): string[] {
    return apptainerCommand(this.name, this.binary, spec);
  }
}
