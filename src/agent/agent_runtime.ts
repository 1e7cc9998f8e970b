/**
 * What the agent sets up once before matching: the software dir (images,
 * setup script), the container runtime (probed for real by running the
 * wrapper's self-test in it), the payload user, and the warm wrapper
 * cache the probe left.
 *
 * @module
 */
import type { ContainerDriver } from "../container/driver.ts";
import { selectRuntime } from "../container/select.ts";
import {
  type PayloadUser,
  payloadUserFor,
  runningAsRoot,
} from "../container/payload_user.ts";
import { type ResolvedImage, SoftwareDir } from "../container/software_dir.ts";
import type { AgentOptions } from "./agent_options.ts";
import { probeRuntime } from "./probe.ts";
import type {
  LaunchSoftware,
  WrapperCache,
  WrapperProgram,
} from "./wrapper_launch.ts";

/** The agent's runtime, chosen and probed. */
export interface AgentRuntime {
  /** The container runtime. */
  driver: ContainerDriver;
  /** The software dir, if any. */
  softwareDir?: SoftwareDir;
  /** The software dir as launches mount it. */
  software?: LaunchSoftware;
  /** Image for jobs without a JDL `Container`. */
  defaultImage?: ResolvedImage;
  /** The user payloads run as, if switched. */
  jobUser?: PayloadUser;
  /** The warm wrapper cache the probe filled, if any. */
  wrapperCache?: WrapperCache;
}

/**
 * Finds the software dir, selects and probes the container runtime and
 * logs what it chose; throws when no runtime works.
 *
 * @example
 * ```ts ignore
 * const rt = await setUpRuntime(opts, sourceWrapperProgram(), "127.0.0.1:8443", console.error);
 * rt.driver.name; // e.g. "bwrap"
 * ```
 */
export async function setUpRuntime(
  opts: AgentOptions,
  program: WrapperProgram,
  brokerAddr: string,
  log: (line: string) => void,
): Promise<AgentRuntime> {
  const softwareRoot = opts.softwareDir ??
    await Deno.stat(`${opts.workRoot}/software`).then(
      (s) => s.isDirectory ? `${opts.workRoot}/software` : undefined,
      () => undefined,
    );
  const softwareDir = softwareRoot
    ? new SoftwareDir(softwareRoot, { defaultImage: opts.image })
    : undefined;
  const software: LaunchSoftware | undefined = softwareDir && {
    root: softwareDir.root,
    setup: await softwareDir.hasSetup(),
  };
  const defaultImage = await softwareDir?.resolve(
    opts.image === undefined ? undefined : softwareDir.defaultImage,
  );
  if (softwareDir) {
    log(
      `software dir: ${softwareDir.root} (setup script: ${
        software!.setup ? "yes" : "no"
      }, default image: ${defaultImage?.dir ?? "none, host rootfs"})`,
    );
  }
  const asRoot = await runningAsRoot(opts.workRoot);
  const payloadUser = (d: { name: string }) =>
    payloadUserFor(d.name, { asRoot, user: opts.payloadUser });
  const { driver, probes } = await selectRuntime(opts.containers ?? "auto", {
    binaries: opts.binaries,
    allowNoContainer: opts.allowNoContainer,
    probe: (d) =>
      probeRuntime(d, {
        program,
        workRoot: opts.workRoot,
        broker: brokerAddr,
        image: defaultImage?.dir,
        software,
        cacheDir: `${opts.workRoot}/.wrapper-cache/${d.name}`,
        payloadUser,
      }),
  });
  for (const p of probes) {
    log(`probe ${p.name}: ${p.result.message} (${p.result.ms.toFixed(0)} ms)`);
  }
  const jobUser = payloadUser(driver);
  log(
    `container runtime: ${driver.name}${
      jobUser ? ` (payload as uid ${jobUser.uid}:${jobUser.gid})` : ""
    }`,
  );
  const cacheDir = `${opts.workRoot}/.wrapper-cache/${driver.name}`;
  const wrapperCache = await Deno.stat(cacheDir).then(
    () => ({ mode: "use" as const, dir: cacheDir }),
    () => undefined,
  );
  return {
    driver,
    softwareDir,
    software,
    defaultImage,
    jobUser,
    wrapperCache,
  };
}
