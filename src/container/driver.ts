/**
 * The container driver interface (DESIGN §7, after nomad's task drivers).
 *
 * The agent makes one generic call — `driver.command(spec)` — and runs the
 * argv it gets back; everything runtime-specific lives in one small file per
 * runtime. Job data never goes through the runtime: it is piped over the
 * wrapper's stdin, so no runtime needs to know how to pass files or env.
 *
 * Probing is not a driver method: a real probe starts the wrapper's own
 * self-test through `command()` with the same image, binds and permissions
 * as a job (see `src/agent/probe.ts`), so it needs the wrapper program,
 * which drivers do not know about. Selection takes it as a {@link ProbeFn}.
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
  /**
   * The image as the job named it (JDL `Container`), for runtimes that
   * take image references instead of directories (docker).
   */
  imageRef?: string;
  /** Read-only binds (wrapper program, deno runtime, software dir). */
  binds: Bind[];
  /** The complete environment inside (nothing is inherited). */
  env: Record<string, string>;
  /** `host` keeps the network (the wrapper must reach the broker). */
  network: "host" | "none";
  /**
   * Container paths mounted as empty tmpfs before the binds, so that binds
   * below them can create their mount points in a read-only image.
   * @default []
   */
  scratch?: string[];
  /**
   * Who the payload runs as inside the container, when the wrapper must
   * switch to it (see `payload_user.ts`); the driver then keeps the
   * wrapper's few capabilities for that and hands the sandbox over in
   * `prepare`. @default undefined (payload runs as the wrapper)
   */
  payloadUser?: { uid: number; gid: number };
  /**
   * Host directory (inside the sandbox) to bind at `/tmp`, so that the
   * container's `/tmp` is on the sandbox's disk and counted by
   * `WorkDirectorySize`. @default undefined (the runtime's own /tmp)
   */
  tmp?: string;
  /** Kernel-enforced limits, for runtimes with a cgroup of their own. */
  resources?: {
    /** Memory limit, bytes (`--memory`). */
    memoryBytes?: number;
    /** Process limit (`--pids-limit`). */
    pids?: number;
  };
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
  /**
   * The whole tree dies with the launcher's parent (the agent) by itself,
   * e.g. bwrap's `--die-with-parent`. Runtimes without it get the agent
   * lease shim (see `src/container/lease.ts`).
   */
  diesWithParent: boolean;
  /** Cannot run without a directory image (`spec.image`). */
  needsImage: boolean;
  /** Runs directory images (`spec.image`); docker takes references. */
  directoryImages: boolean;
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
  /**
   * Host-side preparation before the argv is spawned, e.g. podman hands
   * the sandbox to the user namespace's root. Optional.
   */
  prepare?(spec: LaunchSpec): Promise<void>;
}

/** Runs the real probe of a driver (the wrapper's self-test inside it). */
export type ProbeFn = (driver: ContainerDriver) => Promise<ProbeResult>;

/** Where the sandbox appears inside a relocating container. */
export const SANDBOX_PATH = "/workdir";

/** Where splitpilot's own read-only files appear inside a container. */
export const PROGRAM_PATH = "/opt/splitpilot";

/**
 * Where the software directory (CVMFS-like) appears inside a container.
 * It sits below {@link PROGRAM_PATH}, which is a tmpfs, so an image needs
 * no extra mount point for it.
 */
export const SOFTWARE_PATH = `${PROGRAM_PATH}/software`;

/** Raised for an unknown runtime name or a runtime that cannot be used. */
export class ContainerError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "ContainerError";
  }
}
