/**
 * The `none` runtime: the wrapper runs directly on the host, confined only
 * by its Deno permission flags. Used where no container runtime exists.
 *
 * Two modes, tried in this order by selection:
 *
 * - `reaper` (default): `setpriv --pdeathsig KILL -- unshare --user
 *   --map-current-user --pid --fork --kill-child -- deno run … wrapper`.
 *   The wrapper is pid 1 of its own pid namespace, so SIGKILL of the
 *   wrapper kills every payload process; `setpriv` makes `unshare` die with
 *   the agent and `--kill-child` passes that on to the namespace. Needs
 *   util-linux and unprivileged user namespaces (or root).
 * - plain (`reaper: false`): the argv unchanged; the agent spawns the
 *   wrapper in its own process group and kills the group. A payload that
 *   starts its own session (the wrapper starts payloads with `setsid`)
 *   can outlive a SIGKILLed wrapper or agent: this mode guarantees less.
 *
 * @module
 */
import { shareSandbox, WRAPPER_CAPS } from "./payload_user.ts";
import {
  type Capabilities,
  type ContainerDriver,
  ContainerError,
  type LaunchSpec,
} from "./driver.ts";

/** Options of {@link NoneDriver}. */
export interface NoneOptions {
  /** Use the pid-namespace reaper. @default true */
  reaper?: boolean;
  /** The setpriv program. @default "/usr/bin/setpriv" */
  setpriv?: string;
  /** The unshare program. @default "/usr/bin/unshare" */
  unshare?: string;
}

/** Runs the wrapper without a container. */
export class NoneDriver implements ContainerDriver {
  /** @inheritdoc */
  readonly name = "none" as const;
  /** `setpriv` in reaper mode, `undefined` in plain mode. */
  readonly binary: string | undefined;
  /** @inheritdoc */
  readonly capabilities: Capabilities;
  readonly #unshare: string;

  /** Creates the driver. */
  constructor(opts: NoneOptions = {}) {
    const reaper = opts.reaper ?? true;
    this.binary = reaper ? opts.setpriv ?? "/usr/bin/setpriv" : undefined;
    this.#unshare = opts.unshare ?? "/usr/bin/unshare";
    this.capabilities = {
      pidNamespace: reaper,
      networkNone: false,
      rootless: true,
      relocates: false,
      diesWithParent: reaper,
      needsImage: false,
      directoryImages: false,
    };
  }

  /**
   * The argv (host paths), behind the reaper in reaper mode. With
   * `spec.payloadUser` (the agent runs as root) the wrapper keeps only
   * the capabilities it needs to start the payload as that user
   * (`setpriv --bounding-set`), with no-new-privs; root needs no user
   * namespace for the pid namespace (and one would map only uid 0).
   */
  command(spec: LaunchSpec): string[] {
    if (spec.image) {
      throw new ContainerError(
        `runtime none cannot run image ${spec.image}; expected a container runtime (bwrap, podman, …) for jobs with a Container`,
      );
    }
    const setpriv = this.binary ?? "/usr/bin/setpriv";
    const argv = spec.payloadUser
      ? [
        setpriv,
        "--no-new-privs",
        "--inh-caps=-all",
        `--bounding-set=-all,${
          WRAPPER_CAPS.map((c) => `+${c.slice(4).toLowerCase()}`).join(",")
        }`,
        "--",
        ...spec.argv,
      ]
      : spec.argv;
    if (this.binary === undefined) return [...argv];
    if (spec.payloadUser) {
      return [
        this.binary,
        "--pdeathsig",
        "KILL",
        "--",
        this.#unshare,
        "--pid",
        "--fork",
        "--kill-child",
        "--",
        ...argv,
      ];
    }
    return [
      this.binary,
      "--pdeathsig",
      "KILL",
      "--",
      this.#unshare,
      "--user",
      "--map-current-user",
      "--pid",
      "--fork",
      "--kill-child",
      "--",
      ...spec.argv,
    ];
  }

  /** Hands the sandbox to the wrapper (root) and the payload's group. */
  async prepare(spec: LaunchSpec): Promise<void> {
    if (spec.payloadUser) {
      await shareSandbox(spec.sandbox, 0, spec.payloadUser.gid);
    }
  }
}
