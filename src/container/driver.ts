/**
 * The container driver interface (DESIGN §7, after nomad's task drivers).
 *
 * The agent makes one generic call — `driver.command(spec)` — and runs the
 * argv it gets back; everything runtime-specific lives in one small file per
 * runtime. Job data never goes through the runtime: it is piped over the
 * wrapper's stdin, so no runtime needs to know how to pass files or env.
 *
 * @module
 */

/** Names accepted by `USE_CONTAINERS`. */
export type RuntimeName =
  | "none"
  | "bwrap"
  | "podman"
  | "apptainer"
  | "singularity"
  | "docker";

/** A read-only bind of a host path into the container. */
export interface Bind {
  /** Host path. */
  source: string;
  /** Path inside the container. */
  target: string;
}

/** Everything one launch needs, independent of the runtime. */
export interface LaunchSpec {
  /** Command to run inside the container, with container paths. */
  argv: string[];
  /** Host path of the job sandbox; bound read-write at {@link SANDBOX_PATH}. */
  sandbox: string;
  /** Directory rootfs to use; `undefined` runs on the host's own /usr. */
  image?: string;
  /** Read-only binds (wrapper program, deno runtime, software dir). */
  binds: Bind[];
  /** The complete environment inside (nothing is inherited). */
  env: Record<string, string>;
  /** `host` keeps the network (the wrapper must reach the broker). */
  network: "host" | "none";
}

/** What a runtime can guarantee; used by selection and by the tests. */
export interface Capabilities {
  /** Payload sees only its own processes; killing the init kills all. */
  pidNamespace: boolean;
  /** Can run with no network at all. */
  networkNone: boolean;
  /** Needs no root and no setuid helper. */
  rootless: boolean;
  /** Binds land at `target` (false: host paths are used unchanged). */
  relocates: boolean;
}

/** Result of {@link ContainerDriver.probe}. */
export interface ProbeResult {
  /** Whether the image started and the smoke check passed. */
  ok: boolean;
  /** One line saying what was run and what happened. */
  message: string;
  /** Milliseconds the probe took. */
  ms: number;
}

/** One container runtime. */
export interface ContainerDriver {
  /** Runtime name as in `USE_CONTAINERS`. */
  readonly name: RuntimeName;
  /** Program that is run (absolute path), `undefined` for `none`. */
  readonly binary?: string;
  /** What this runtime guarantees. */
  readonly capabilities: Capabilities;
  /** The argv that launches `spec.argv` in a container. */
  command(spec: LaunchSpec): string[];
}

/** Where the sandbox appears inside a relocating container. */
export const SANDBOX_PATH = "/workdir";

/** Where splitpilot's own read-only files appear inside a container. */
export const PROGRAM_PATH = "/opt/splitpilot";

/** Raised for an unknown runtime name or a runtime that cannot be used. */
export class ContainerError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "ContainerError";
  }
}
