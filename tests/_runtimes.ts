/**
 * Test helpers for the docker and singularity runtimes: a private dockerd
 * with the cached debootstrap image imported (per test, stopped after),
 * and the singularity binary built from `../shared/tools/singularity`.
 * Under `CI=true` both must exist: their tests fail, not skip.
 *
 * @module
 */
import {
  dockerInstalled,
  type PrivateDockerd,
  startPrivateDockerd,
} from "../scripts/private_dockerd.ts";
import { findOnPath } from "../src/container/find_program.ts";
import { IN_CI } from "./_grid.ts";
import { cachedImage } from "./_software.ts";

/** Where `build.sh` installs singularity by default. */
export const SINGULARITY_BUILD = "/opt/singularity-2.6.1/bin/singularity";

/** `ignore` for docker tests: skipped locally without docker.io, never in CI. */
export function needsDocker(): boolean {
  return !IN_CI && !dockerInstalled();
}

/**
 * The singularity binary: on PATH, else the shared build's default
 * prefix, whose directory is then put on this process's PATH (the agent
 * and its parent find the runtime on PATH, as at a site).
 */
export function singularityBinary(): string | undefined {
  const onPath = findOnPath("singularity");
  if (onPath) return onPath;
  try {
    if (!Deno.statSync(SINGULARITY_BUILD).isFile) return undefined;
  } catch {
    return undefined;
  }
  const dir = SINGULARITY_BUILD.slice(0, SINGULARITY_BUILD.lastIndexOf("/"));
  Deno.env.set("PATH", `${dir}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`);
  return SINGULARITY_BUILD;
}

/** `ignore` for singularity tests: skipped locally without a build, never in CI. */
export function needsSingularity(): boolean {
  const found = singularityBinary() !== undefined; // also puts it on PATH
  return !IN_CI && !found;
}

/** A private daemon with the cached image as `splitpilot/default:latest`. */
export async function dockerWithImage(): Promise<PrivateDockerd> {
  const d = await startPrivateDockerd();
  try {
    const { dir } = await cachedImage();
    await d.importImage(dir, "default");
    return d;
  } catch (e) {
    await d.stop();
    throw e;
  }
}

/** Runs `fn` with a private daemon, stopped after (also on failure). */
export async function withDocker<T>(
  fn: (d: PrivateDockerd) => Promise<T>,
): Promise<T> {
  const d = await dockerWithImage();
  try {
    return await fn(d);
  } finally {
    await d.stop();
  }
}
