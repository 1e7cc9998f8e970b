/**
 * Builds the one generic launch of a wrapper: Deno flags from the role
 * table, paths as the container sees them, and the driver's argv.
 *
 * Inside a relocating runtime the container sees:
 *
 * | path | what | how |
 * |---|---|---|
 * | `/workdir` | the job sandbox | read-write bind |
 * | `/opt/splitpilot` | tmpfs (mount points for the binds below) | scratch |
 * | `/opt/splitpilot/deno`, `…/wrapper.ts`, `…/src` | the wrapper program | read-only binds |
 * | `/opt/splitpilot/software` | the software dir | read-only bind |
 * | `/opt/splitpilot/lease` | the agent lease (detaching runtimes) | read-only bind |
 * | `/opt/splitpilot/deno-dir` | the warm wrapper cache (see below) | read-only bind |
 * | `/tmp` | private tmpfs | runtime |
 *
 * so an image needs only the mount points `/workdir` and `/opt/splitpilot`.
 *
 * The wrapper cache: inside a container `DENO_DIR` is a fresh `/tmp/.deno`,
 * so every wrapper would transpile its modules anew (~50 ms). The probe
 * fills a cache in its own sandbox ({@link WrapperCache} `fill`), the agent
 * keeps it ({@link keepWrapperCache}), and jobs get it read-only and copy
 * it to their `/tmp/.deno` before Deno starts (`use`). A job never writes
 * to a cache another wrapper reads.
 *
 * @module
 */
import {
  type ContainerDriver,
  type LaunchSpec,
  PROGRAM_PATH,
  SANDBOX_PATH,
  SOFTWARE_PATH,
} from "../container/driver.ts";
import { holdLease, LEASE_PATH, leaseArgv } from "../container/lease.ts";
import {
  OOM_CHECK_ENV,
  oomLeaseArgv,
  ownMemoryCgroup,
} from "../container/oom_check.ts";
import { encodeAllowRun } from "../build/allow_run_list.ts";
import { auditRelayArgv, RELAYED_RUNTIMES } from "./audit_relay.ts";
import {
  SETUP_ENV,
  SETUP_SHELL,
  SOFTWARE_ENV,
} from "../container/setup_script.ts";
import {
  type PermissionSet,
  toDenoFlags,
  wrapperPermissions,
} from "../permissions/table.ts";
import { ALLOW_RUN_FILE } from "../protocol/programs.ts";
import {
  formatPayloadUser,
  PAYLOAD_JAIL_ENV,
  PAYLOAD_USER_ENV,
  type PayloadUser,
  SANDBOX_TMP,
  SETPRIV,
  UNSHARE,
} from "../container/payload_user.ts";

/** Where the wrapper program comes from. */
export interface WrapperProgram {
  /** The deno executable on the host. */
  deno: string;
  /**
   * Host files/dirs making up the wrapper, bound read-only into the
   * container below {@link PROGRAM_PATH} under their base names.
   */
  files: string[];
  /** Entry file (one of `files`, or inside one of them). */
  entry: string;
  /**
   * A built wrapper's fixed-permission launcher (`<dir>/run`, see
   * `src/build/`): started as `run WORKDIR [args]` instead of
   * `deno run <flags> entry`; it takes the job's `--allow-run` list from
   * `WORKDIR/.splitpilot/allow-run`, which {@link buildLaunch} writes.
   * @default undefined (deno run of `entry`)
   */
  launcher?: string;
  /**
   * `DENO_AUDIT_PERMISSIONS` for every wrapper, as the wrapper sees the
   * path (e.g. `/dev/stderr`, which the agent inherits). @default none
   */
  auditLog?: string;
}

/** The wrapper program from this source checkout. */
export function sourceWrapperProgram(): WrapperProgram {
  const root = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
  return {
    deno: Deno.execPath(),
    files: [`${root}/wrapper.ts`, `${root}/src`],
    entry: `${root}/wrapper.ts`,
  };
}

/**
 * A built wrapper unpacked in `dir` (`deno`, `wrapper.js`, `run`). Throws
 * when `dir/run` is missing, or when `broker` (`host:port`) is given and
 * the launcher was built for another broker (its only network peer).
 */
export function builtWrapperProgram(
  dir: string,
  opts: { broker?: string; auditLog?: string } = {},
): WrapperProgram {
  const d = dir.replace(/\/+$/, "");
  let text: string;
  try {
    text = Deno.readTextFileSync(`${d}/run`);
  } catch (e) {
    throw new TypeError(
      `--wrapper ${dir}: expected an unpacked wrapper artefact (run, deno, wrapper.js): ${
        (e as Error).message
      }`,
    );
  }
  const built = /^# broker: (\S+)$/m.exec(text)?.[1];
  if (opts.broker && built !== opts.broker) {
    throw new TypeError(
      `--wrapper ${dir}: built for broker ${
        built ?? "?"
      }, but the agent talks to ${opts.broker}`,
    );
  }
  return {
    deno: `${d}/deno`,
    files: [d],
    entry: `${d}/run`,
    launcher: `${d}/run`,
    auditLog: opts.auditLog,
  };
}

/** The software directory as the launch needs it. */
export interface LaunchSoftware {
  /** Host path of the software dir. */
  root: string;
  /** Whether `etc/setup.sh` exists (then the wrapper sources it). */
  setup: boolean;
}

/**
 * Where every wrapper's runtime writes its permission audit: its stderr,
 * a pipe only the agent reads (see `audit_sink.ts`).
 */
export const AUDIT_STREAM = "/dev/stderr";

/** Where the warm wrapper cache appears inside a container. */
export const WRAPPER_CACHE_PATH = `${PROGRAM_PATH}/deno-dir`;

/** Name of the cache the probe fills inside its sandbox. */
const CACHE_IN_SANDBOX = ".deno-cache";

/** The wrapper cache for {@link LaunchInput.wrapperCache}. */
export interface WrapperCache {
  /** `fill`: DENO_DIR in the sandbox (the probe); `use`: copy of `dir`. */
  mode: "fill" | "use";
  /** Host dir of the kept cache (`use`). */
  dir?: string;
}

/** Inputs of {@link buildLaunch}. */
export interface LaunchInput {
  /** The runtime. */
  driver: ContainerDriver;
  /** The wrapper program. */
  program: WrapperProgram;
  /** Host path of the job sandbox. */
  sandbox: string;
  /**
   * Broker `host:port`: the wrapper's only network peer, and only with
   * `relay: false`; a relayed wrapper gets no `--allow-net` at all.
   */
  broker: string;
  /**
   * Whether the agent relays the wrapper's broker calls (no network
   * permission for the wrapper). @default true
   */
  relay?: boolean;
  /**
   * The payload's network: `none` gives the container its own empty
   * network namespace. @default "host"
   */
  network?: "none" | "host";
  /** Programs the payload may run, with sandbox paths as seen inside. */
  payload: (workdir: string) => string[];
  /** Directory rootfs, if the job uses an image. */
  image?: string;
  /** The job's image reference (JDL `Container`), for docker. */
  imageRef?: string;
  /** The software dir (bound read-only; its setup script sets the env). */
  software?: LaunchSoftware;
  /** Deno cache dir for the `none` runtime. */
  denoDir: string;
  /** Extra wrapper arguments (e.g. `--self-test`). @default [] */
  extraArgs?: string[];
  /** The warm wrapper cache (relocating runtimes). @default none */
  wrapperCache?: WrapperCache;
  /**
   * Run the payload as this user (ids inside the container); see
   * `src/container/payload_user.ts`. @default as the wrapper
   */
  payloadUser?: PayloadUser;
  /** Kernel-enforced limits for runtimes that take them (podman). */
  resources?: LaunchSpec["resources"];
  /**
   * Jail the payload in its own namespaces (no `payloadUser`: it would
   * run under the wrapper's uid). @default false
   */
  payloadJail?: boolean;
  /**
   * Audit the wrapper: `DENO_AUDIT_PERMISSIONS=/dev/stderr`, checked by
   * the agent at the end (`src/agent/audit_sink.ts`). @default true
   */
  audit?: boolean;
}

/** The argv to spawn, plus what it was built from (for logs and tests). */
export interface Launch {
  /** Full argv; argv[0] is the program to spawn. */
  argv: string[];
  /** The container-side spec. */
  spec: LaunchSpec;
  /** The wrapper's Deno permission flags. */
  denoFlags: string[];
  /** The wrapper's row of the table, as the audit checks it. */
  table?: PermissionSet;
  /**
   * Whether the wrapper's audit stream is on its stderr (then the agent
   * checks it against `table`). @default false
   */
  audit?: boolean;
  /** Pass the audit records on to the agent's stderr (`--wrapper-audit`). */
  auditEcho?: boolean;
  /**
   * Host path of the agent lease file, for runtimes that detach the
   * container from its launcher; {@link prepareLaunch} holds it.
   */
  lease?: string;
  /**
   * Working directory to spawn the launcher in: the sandbox for `none`;
   * its parent for container runtimes, so the runtime's own host
   * processes (podman's conmon and cleanup, which inherit it) never look
   * like job processes to the agent's dead man's switch, which kills
   * whatever has its cwd in a sandbox. @default the sandbox
   */
  cwd?: string;
}

/**
 * Builds the launch argv for one wrapper: the driver's container command
 * around `deno run` of the wrapper with the wrapper role's permissions,
 * the sandbox at `/workdir` for relocating runtimes.
 *
 * @example
 * ```ts ignore
 * import { NoneDriver } from "../container/none.ts";
 * import { buildLaunch, sourceWrapperProgram } from "./wrapper_launch.ts";
 * const launch = buildLaunch({
 *   driver: new NoneDriver({ reaper: false }),
 *   program: sourceWrapperProgram(),
 *   sandbox: "/scratch/pilot/job-42",
 *   broker: "127.0.0.1:8443",
 *   payload: () => ["/bin/date"],
 *   denoDir: "/scratch/pilot/.deno",
 * });
 * launch.argv[0]; // the deno binary (no container for `none`)
 * ```
 */
export function buildLaunch(input: LaunchInput): Launch {
  const caps = input.driver.capabilities;
  const relocate = caps.relocates;
  const workdir = relocate ? SANDBOX_PATH : input.sandbox;
  const lease = relocate && !caps.diesWithParent
    ? `${input.sandbox}.lease`
    : undefined;
  const software = input.software
    ? relocate ? SOFTWARE_PATH : input.software.root
    : undefined;
  const cache = relocate && !input.program.launcher
    ? input.wrapperCache
    : undefined;
  const useCache = cache?.mode === "use" && cache.dir ? cache.dir : undefined;
  const binds = relocate
    ? [
      ...(input.program.launcher
        ? []
        : [{ source: input.program.deno, target: `${PROGRAM_PATH}/deno` }]),
      ...input.program.files.map((f) => ({
        source: f,
        target: `${PROGRAM_PATH}/${f.slice(f.lastIndexOf("/") + 1)}`,
      })),
      ...(input.software
        ? [{ source: input.software.root, target: SOFTWARE_PATH }]
        : []),
      ...(lease ? [{ source: lease, target: LEASE_PATH }] : []),
      ...(useCache ? [{ source: useCache, target: WRAPPER_CACHE_PATH }] : []),
    ]
    : [];
  const map = (hostPath: string) => {
    if (!relocate) return hostPath;
    for (const f of input.program.files) {
      if (hostPath === f || hostPath.startsWith(f + "/")) {
        return `${PROGRAM_PATH}/${f.slice(f.lastIndexOf("/") + 1)}${
          hostPath.slice(f.length)
        }`;
      }
    }
    return hostPath;
  };
  const setup = input.software?.setup ? `${software}/etc/setup.sh` : undefined;
  const payload = input.payload(workdir);
  const jail = !input.payloadUser && input.payloadJail === true;
  const runList = [
    ...payload,
    ...(setup ? [SETUP_SHELL] : []),
    ...(input.payloadUser ? [SETPRIV] : []),
    ...(jail ? [UNSHARE] : []),
  ];
  const table = wrapperPermissions({
    broker: input.relay === false ? input.broker : undefined,
    sandbox: workdir,
    payload: runList,
  });
  const denoFlags = toDenoFlags(table);
  const deno = relocate ? `${PROGRAM_PATH}/deno` : input.program.deno;
  if (input.program.launcher) {
    // The built launcher's only per-job input besides the sandbox.
    const file = `${input.sandbox}/${ALLOW_RUN_FILE}`;
    Deno.mkdirSync(file.slice(0, file.lastIndexOf("/")), { recursive: true });
    Deno.writeTextFileSync(file, encodeAllowRun(runList));
  }
  const wrapper = input.program.launcher
    ? [map(input.program.launcher), workdir, ...(input.extraArgs ?? [])]
    : [
      deno,
      "run",
      "--no-config",
      "--no-lock",
      "--no-prompt",
      ...denoFlags,
      map(input.program.entry),
      "--workdir",
      workdir,
      ...(input.extraArgs ?? []),
    ];
  const env: Record<string, string> = {
    HOME: workdir,
    PATH: "/usr/local/bin:/usr/bin:/bin",
    TMPDIR: "/tmp",
    NO_COLOR: "1",
    DENO_DIR: cache?.mode === "fill"
      ? `${workdir}/${CACHE_IN_SANDBOX}`
      : relocate
      ? "/tmp/.deno"
      : input.denoDir,
    DENO_NO_UPDATE_CHECK: "1",
  };
  const auditLog = input.program.auditLog ??
    (input.audit === false ? undefined : AUDIT_STREAM);
  // Under another uid the stream needs a relay (audit_relay.ts).
  const relayed = auditLog === AUDIT_STREAM && !input.program.auditLog &&
    RELAYED_RUNTIMES.has(input.driver.name);
  if (auditLog && !relayed) env.DENO_AUDIT_PERMISSIONS = auditLog;
  const audited = relayed ? auditRelayArgv(workdir, wrapper) : wrapper;
  if (software) env[SOFTWARE_ENV] = software;
  if (input.payloadUser) {
    env[PAYLOAD_USER_ENV] = formatPayloadUser(input.payloadUser);
  }
  if (jail) env[PAYLOAD_JAIL_ENV] = "1";
  // The container's /tmp lives on the sandbox's disk (WorkDirectorySize).
  const tmp = relocate ? `${input.sandbox}/${SANDBOX_TMP}` : undefined;
  if (tmp) Deno.mkdirSync(tmp, { recursive: true, mode: 0o1777 });
  if (setup) env[SETUP_ENV] = setup;
  // The shim tells the agent about OOM kills (oom_check.ts).
  const oomCheck = !!lease && ownMemoryCgroup(input);
  if (oomCheck) env[OOM_CHECK_ENV] = "1";
  const started = useCache
    ? [
      "/bin/sh",
      "-c",
      `cp -R ${WRAPPER_CACHE_PATH} /tmp/.deno 2>/dev/null; exec "$@"`,
      "splitpilot-cache",
      ...audited,
    ]
    : audited;
  const spec: LaunchSpec = {
    argv: oomCheck
      ? oomLeaseArgv(started)
      : lease
      ? leaseArgv(started)
      : started,
    sandbox: input.sandbox,
    image: input.image,
    imageRef: input.imageRef,
    binds,
    env,
    network: input.network ?? "host",
    scratch: relocate ? [PROGRAM_PATH] : [],
    payloadUser: input.payloadUser,
    tmp,
    resources: input.resources,
  };
  const cwd = relocate
    ? input.sandbox.slice(0, input.sandbox.lastIndexOf("/")) || "/"
    : input.sandbox;
  return {
    argv: input.driver.command(spec),
    spec,
    denoFlags,
    table,
    audit: auditLog === AUDIT_STREAM,
    auditEcho: input.program.auditLog === AUDIT_STREAM,
    lease,
    cwd,
  };
}

/**
 * Keeps the cache a probe filled in `sandbox` ({@link WrapperCache} `fill`)
 * as `dir`, replacing an older one; returns `dir`, or `undefined` when
 * the probe left none.
 */
export async function keepWrapperCache(
  sandbox: string,
  dir: string,
): Promise<string | undefined> {
  const filled = `${sandbox}/${CACHE_IN_SANDBOX}`;
  if (!(await Deno.stat(filled).then((s) => s.isDirectory, () => false))) {
    return undefined;
  }
  await Deno.mkdir(dir.slice(0, dir.lastIndexOf("/")), { recursive: true });
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  await Deno.rename(filled, dir);
  return dir;
}

/** What {@link prepareLaunch} holds for the job; release it at the end. */
export interface LaunchHold {
  /** Drops the lease (a detached container dies) and removes its file. */
  release(): Promise<void>;
}

/**
 * Host-side steps before spawning `launch`: the driver's `prepare` (e.g.
 * podman's sandbox ownership) and the agent lease, held until `release`.
 * Throws the driver's `ContainerError` when the launch cannot work.
 */
export async function prepareLaunch(
  driver: ContainerDriver,
  launch: Launch,
): Promise<LaunchHold> {
  await driver.prepare?.(launch.spec);
  if (!launch.lease) return { release: () => Promise.resolve() };
  return await holdLease(launch.lease);
}
