/**
 * The docker runtime (the slides' `USE_CONTAINERS=DOCKER`), run for real
 * in CI against a private dockerd (see `scripts/private_dockerd.ts`).
 *
 * Safe by default:
 * - `--cap-drop ALL`, `--security-opt no-new-privileges`, `--read-only`:
 *   the payload writes only the sandbox (bound at `/workdir`) and `/tmp`.
 * - `/tmp` is a size-limited tmpfs; with `--memory` its pages count
 *   against the container's memory cap (a tmpfs is RAM).
 * - `--user`: the wrapper and payload run as an unprivileged host uid
 *   that owns nothing but the sandbox, which {@link DockerDriver.prepare}
 *   hands to it.
 * - `--pids-limit` and `--memory` from the agent's kernel limits
 *   (`kernel_limits.ts`: above the watchdog's kill, a backstop).
 * - `--network host|none` only (the daemon runs with `--bridge=none`);
 *   `--pull never`: nothing comes from a registry.
 * - The daemon's socket is never bound in: the client talks to it from
 *   the host (`-H`, from {@link DockerOptions.host} or `DOCKER_HOST`).
 * - `--rm`, a per-job label, and the agent lease (`lease.ts`: the daemon
 *   detaches the container from its client, so it would outlive a
 *   SIGKILLed agent); the first {@link DockerDriver.prepare} of an agent
 *   removes labelled containers an earlier agent of the same work root
 *   left.
 *
 * Images are references, not directories: the JDL `Container = "NAME"`
 * runs `splitpilot/NAME:latest` ({@link dockerImageRef}), and a site
 * switches `latest` by retagging (`docker tag splitpilot/NAME:VERSION
 * splitpilot/NAME:latest`); a running container keeps the image it
 * started with. A reference with `/` or `:` is used as is.
 *
 * @module
 */
import {
  type Capabilities,
  type ContainerDriver,
  ContainerError,
  type LaunchSpec,
  SANDBOX_PATH,
} from "./driver.ts";

/** Options of {@link DockerDriver}. */
export interface DockerOptions {
  /** The docker client. @default "/usr/bin/docker" */
  binary?: string;
  /** Daemon address (`-H`). @default `DOCKER_HOST`, else docker's default */
  host?: string;
  /** Image name for jobs without a `Container` tag. @default "default" */
  image?: string;
  /**
   * `uid:gid` the container runs as; `false` keeps the image's user
   * (root, with every capability dropped). @default DOCKER_PAYLOAD_USER
   */
  user?: string | false;
  /** `--pids-limit`. @default 4096 */
  pidsLimit?: number;
  /** Size of the private `/tmp`, bytes. @default 512 MiB */
  tmpBytes?: number;
  /** Where the leftover cleanup is logged. @default stderr, `[agent] ` */
  log?: (line: string) => void;
}

/** The unprivileged host uid:gid docker payloads run as. */
export const DOCKER_PAYLOAD_USER = "589824:589824";

/** Repository prefix of the images a software dir maps onto. */
export const DOCKER_REPOSITORY = "splitpilot";

/** Labels on every container: the agent's work root and the job sandbox. */
export const DOCKER_LABELS = {
  work: "splitpilot.work",
  sandbox: "splitpilot.sandbox",
} as const;

/**
 * The docker reference for a JDL `Container` value: a plain name maps to
 * `splitpilot/NAME:latest`, anything with `/` or `:` is taken as is.
 */
export function dockerImageRef(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._\/:@-]*$/.test(name)) {
    throw new ContainerError(
      `docker: image ${
        JSON.stringify(name)
      }: expected a name or a docker reference`,
    );
  }
  return /[\/:]/.test(name) ? name : `${DOCKER_REPOSITORY}/${name}:latest`;
}

function envHost(): string | undefined {
  try {
    return Deno.env.get("DOCKER_HOST") || undefined;
  } catch {
    return undefined; // no --allow-env=DOCKER_HOST
  }
}

/**
 * Launches through `docker run`.
 *
 * @example
 * ```ts
 * const d = new DockerDriver({ host: "unix:///run/splitpilot/docker.sock" });
 * const argv = d.command(spec); // docker -H … run --rm -i --cap-drop ALL … splitpilot/default:latest …
 * ```
 */
export class DockerDriver implements ContainerDriver {
  /** Runtime name as `USE_CONTAINERS` and the JDL spell it: `docker`. */
  readonly name = "docker" as const;
  /** Path of the `docker` program the agent runs. */
  readonly binary: string;
  /** What a `docker` launch guarantees (see {@link Capabilities}). */
  readonly capabilities: Capabilities = {
    pidNamespace: true,
    networkNone: true,
    rootless: false,
    relocates: true,
    diesWithParent: false,
    needsImage: false,
    directoryImages: false,
  };
  readonly #host?: string;
  readonly #image: string;
  readonly #user: string | false;
  readonly #pidsLimit: number;
  readonly #tmpBytes: number;
  readonly #log: (line: string) => void;
  #swept = false;

  /** Creates the driver. */
  constructor(opts: DockerOptions = {}) {
    this.binary = opts.binary ?? "/usr/bin/docker";
    this.#host = opts.host ?? envHost();
    this.#image = opts.image ?? "default";
    this.#user = opts.user ?? DOCKER_PAYLOAD_USER;
    this.#pidsLimit = opts.pidsLimit ?? 4096;
    this.#tmpBytes = opts.tmpBytes ?? 512 * 2 ** 20;
    this.#log = opts.log ?? ((l) => console.error(`[agent] ${l}`));
    if (this.#user !== false && !/^\d+:\d+$/.test(this.#user)) {
      throw new ContainerError(
        `docker: user ${this.#user}: expected numeric uid:gid`,
      );
    }
  }

  /** `docker [-H host]`: the client, talking to our daemon. */
  #client(): string[] {
    return this.#host ? [this.binary, "-H", this.#host] : [this.binary];
  }

  /** The docker argv for `spec` (private pid namespace is docker's default). */
  command(spec: LaunchSpec): string[] {
    if (spec.image) {
      throw new ContainerError(
        `docker cannot run directory image ${spec.image}; expected an image reference (JDL Container)`,
      );
    }
    for (const p of [spec.sandbox, ...spec.binds.map((b) => b.source)]) {
      if (p.includes(":") || p.includes(",")) {
        throw new ContainerError(
          `docker: path ${p} contains ':' or ','; expected paths usable in -v`,
        );
      }
    }
    // The agent's kernel limits: above the watchdog's kill, a backstop.
    const cap = spec.resources?.memoryBytes ?? 0;
    const tmp = cap ? Math.min(cap, this.#tmpBytes) : this.#tmpBytes;
    const work = spec.sandbox.slice(0, spec.sandbox.lastIndexOf("/")) || "/";
    const argv = [
      ...this.#client(),
      "run",
      "--rm",
      "-i",
      "--pull",
      "never",
      "--label",
      `${DOCKER_LABELS.work}=${work}`,
      "--label",
      `${DOCKER_LABELS.sandbox}=${spec.sandbox}`,
      "--network",
      spec.network,
      "--ipc",
      "private",
      "--cap-drop",
      "ALL",
      "--security-opt",
      "no-new-privileges",
      "--read-only",
      "--tmpfs",
      `/tmp:rw,nosuid,nodev,size=${tmp},mode=1777`,
      "--pids-limit",
      String(spec.resources?.pids ?? this.#pidsLimit),
    ];
    if (cap) argv.push("--memory", String(cap), "--memory-swap", String(cap));
    if (this.#user) argv.push("--user", this.#user);
    argv.push("--log-driver", "none");
    for (const dir of spec.scratch ?? []) argv.push("--tmpfs", `${dir}:ro`);
    argv.push("-v", `${spec.sandbox}:${SANDBOX_PATH}`);
    for (const b of spec.binds) argv.push("-v", `${b.source}:${b.target}:ro`);
    argv.push("-w", SANDBOX_PATH);
    for (const [k, v] of Object.entries(spec.env)) argv.push("-e", `${k}=${v}`);
    argv.push(dockerImageRef(spec.imageRef ?? this.#image), ...spec.argv);
    return argv;
  }

  /**
   * Hands the sandbox to the payload uid; the first call of an agent also
   * removes containers earlier agents of this work root left behind.
   */
  async prepare(spec: LaunchSpec): Promise<void> {
    if (!this.#swept) {
      this.#swept = true;
      const work = spec.sandbox.slice(0, spec.sandbox.lastIndexOf("/")) || "/";
      await this.removeLeftovers(work);
    }
    if (this.#user === false) return;
    const uid = Number(this.#user.split(":")[0]);
    const gid = Number(this.#user.split(":")[1]);
    try {
      await Deno.chown(spec.sandbox, uid, gid);
    } catch (e) {
      throw new ContainerError(
        `docker: cannot hand sandbox ${spec.sandbox} to ${this.#user} (${
          (e as Error).message
        }); expected an agent running as root, or user: false`,
      );
    }
  }

  /** Removes containers labelled with work root `work`; returns how many. */
  async removeLeftovers(work: string): Promise<number> {
    const run = async (args: string[]) => {
      const [cmd, ...pre] = this.#client();
      const out = await new Deno.Command(cmd, {
        args: [...pre, ...args],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        clearEnv: true,
        env: { PATH: "/usr/bin:/bin" },
      }).output();
      return {
        ok: out.success,
        out: new TextDecoder().decode(out.stdout).trim(),
        err: new TextDecoder().decode(out.stderr).trim(),
      };
    };
    const ps = await run([
      "ps",
      "-aq",
      "--filter",
      `label=${DOCKER_LABELS.work}=${work}`,
    ]);
    // An unreachable daemon shows up in the probe with its own message.
    if (!ps.ok || !ps.out) return 0;
    const ids = ps.out.split("\n");
    const rm = await run(["rm", "-f", ...ids]);
    this.#log(
      `docker: removed ${ids.length} container(s) an earlier agent of ${work} left${
        rm.ok ? "" : ` (rm failed: ${rm.err})`
      }`,
    );
    return ids.length;
  }
}
