/**
 * Builds a minimal Debian directory image into a software dir and switches
 * its `latest` link atomically:
 *
 * ```
 * deno run -A scripts/build_image.ts --software-dir DIR [--name default]
 *   [--suite bookworm] [--mirror URL] [--include PKG,…] [--keep 3]
 * ```
 *
 * 1. `debootstrap --variant=minbase SUITE` into
 *    `containers/<name>/.build-<version>-<pid>` (needs root and the mirror);
 * 2. creates the mount points every runtime needs (`/workdir`,
 *    `/opt/splitpilot`, podman's `/run/.containerenv`, …), so no runtime
 *    ever writes into the image;
 * 3. renames it to `containers/<name>/<version>` (a UTC timestamp);
 * 4. points `latest` at it: a symlink under a temporary name, then
 *    `rename(2)` over `latest`, so a reader sees the old or the new image,
 *    never none;
 * 5. keeps the newest `--keep` versions (jobs pin the version they started
 *    with, so older ones must outlive the jobs still using them), and
 *    writes a default `etc/setup.sh` when the software dir has none.
 *
 * `ensureImage` is the cached variant for tests and benchmarks: one image
 * under `$SPLITPILOT_IMAGE_CACHE` (default `/var/tmp/splitpilot-images`),
 * built once, under a lock so parallel test processes wait for one build.
 *
 * @module
 */
import { parseFlags as parseArgs } from "../src/cli/cli_io.ts";

/** Mount points created in every image (directories). */
export const IMAGE_MOUNT_DIRS: readonly string[] = [
  "workdir",
  "opt/splitpilot",
  "tmp",
  "proc",
  "dev",
  "sys",
  "run",
];

/** Files bind-mounted over by OCI runtimes; created empty if missing. */
export const IMAGE_MOUNT_FILES: readonly string[] = [
  "run/.containerenv",
  "etc/hosts",
  "etc/hostname",
  "etc/resolv.conf",
];

/** Environment variable naming the image cache. */
export const IMAGE_CACHE_ENV = "SPLITPILOT_IMAGE_CACHE";

/** Default image cache (a software dir). */
export const DEFAULT_IMAGE_CACHE = "/var/tmp/splitpilot-images";

/** The default `etc/setup.sh` written into a software dir without one. */
export const DEFAULT_SETUP =
  `# splitpilot job environment: sourced by /bin/sh before every payload,
# the same way in every container runtime. SPLITPILOT_SOFTWARE is this
# software directory as the job sees it. A failing script fails the job
# start (ERROR_A) with its own error message.
export SPLITPILOT_SITE_SETUP=1
`;

/** Options of {@link buildImage}. */
export interface BuildImageOptions {
  /** The software dir. */
  softwareDir: string;
  /** Image name. @default "default" */
  name?: string;
  /** Debian suite. @default "bookworm" */
  suite?: string;
  /** Mirror. @default "http://deb.debian.org/debian" */
  mirror?: string;
  /** Extra packages. @default [] */
  include?: string[];
  /** Versions to keep, the new one included. @default 3 */
  keep?: number;
  /** The debootstrap program. @default "/usr/sbin/debootstrap" */
  debootstrap?: string;
  /** Progress lines. @default stderr */
  log?: (line: string) => void;
}

/** What {@link buildImage} made. */
export interface BuiltImage {
  /** Image name. */
  name: string;
  /** Version (directory name). */
  version: string;
  /** Absolute path of the rootfs. */
  dir: string;
  /** Path of the `latest` link. */
  latest: string;
  /** Versions pruned. */
  removed: string[];
}

/** Raised when the build fails; says which step and why. */
export class ImageBuildError extends Error {
  /** @param message names the failed step (debootstrap, switch, prune). */
  constructor(message: string) {
    super(message);
    this.name = "ImageBuildError";
  }
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** A version name for `date`: `YYYYMMDDTHHMMSSZ`. */
export function versionName(date: Date): string {
  return date.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
}

/** Creates the mount points every runtime needs in `rootfs`. */
export async function prepareRootfs(rootfs: string): Promise<void> {
  for (const d of IMAGE_MOUNT_DIRS) {
    await Deno.mkdir(`${rootfs}/${d}`, { recursive: true, mode: 0o755 });
  }
  await Deno.chmod(`${rootfs}/tmp`, 0o1777);
  for (const f of IMAGE_MOUNT_FILES) {
    const path = `${rootfs}/${f}`;
    const st = await Deno.lstat(path).catch(() => undefined);
    // A dangling symlink (e.g. resolv.conf) would send the bind elsewhere.
    if (st?.isSymlink) await Deno.remove(path);
    if (!st || st.isSymlink) {
      await Deno.writeTextFile(path, "", { mode: 0o644 });
    }
  }
}

/**
 * Points `<imageDir>/latest` at `version` atomically: a symlink under a
 * temporary name, renamed over `latest`.
 */
export async function switchLatest(
  imageDir: string,
  version: string,
): Promise<void> {
  if (!NAME.test(version)) {
    throw new ImageBuildError(
      `version ${version}: expected a plain directory name`,
    );
  }
  const st = await Deno.stat(`${imageDir}/${version}`).catch(() => undefined);
  if (!st?.isDirectory) {
    throw new ImageBuildError(
      `cannot switch latest: ${imageDir}/${version} is not a directory`,
    );
  }
  const tmp = `${imageDir}/.latest-${Deno.pid}-${Date.now()}`;
  await Deno.symlink(version, tmp);
  try {
    await Deno.rename(tmp, `${imageDir}/latest`);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/**
 * Removes all but the newest `keep` versions, never the one `latest`
 * points at. Returns the removed version names.
 */
export async function pruneImages(
  imageDir: string,
  keep: number,
): Promise<string[]> {
  const current = await Deno.readLink(`${imageDir}/latest`).catch(() => "");
  const versions: string[] = [];
  for await (const e of Deno.readDir(imageDir)) {
    if (e.isDirectory && !e.name.startsWith(".")) versions.push(e.name);
  }
  versions.sort().reverse();
  const removed: string[] = [];
  for (const v of versions.slice(Math.max(1, keep))) {
    if (v === current) continue;
    await Deno.remove(`${imageDir}/${v}`, { recursive: true });
    removed.push(v);
  }
  return removed;
}

/** Builds an image (see the module doc). Needs root and debootstrap. */
export async function buildImage(opts: BuildImageOptions): Promise<BuiltImage> {
  const log = opts.log ?? ((l: string) => console.error(`[build_image] ${l}`));
  const name = opts.name ?? "default";
  if (!NAME.test(name)) {
    throw new ImageBuildError(
      `--name ${name}: expected letters, digits, '.', '_' or '-'`,
    );
  }
  const keep = opts.keep ?? 3;
  if (!Number.isInteger(keep) || keep < 1) {
    throw new ImageBuildError(`--keep ${keep}: expected an integer >= 1`);
  }
  const imageDir = `${opts.softwareDir.replace(/\/+$/, "")}/containers/${name}`;
  await Deno.mkdir(imageDir, { recursive: true });
  let version = versionName(new Date());
  for (let i = 2; await exists(`${imageDir}/${version}`); i++) {
    version = `${versionName(new Date())}-${i}`;
  }
  const build = `${imageDir}/.build-${version}-${Deno.pid}`;
  const suite = opts.suite ?? "bookworm";
  const args = ["--variant=minbase"];
  if (opts.include?.length) args.push(`--include=${opts.include.join(",")}`);
  args.push(suite, build, opts.mirror ?? "http://deb.debian.org/debian");
  const debootstrap = opts.debootstrap ?? "/usr/sbin/debootstrap";
  log(`${debootstrap} ${args.join(" ")}`);
  const t0 = performance.now();
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(debootstrap, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    throw new ImageBuildError(
      `cannot run ${debootstrap}: ${(e as Error).message}`,
    );
  }
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr) +
      new TextDecoder().decode(out.stdout);
    await Deno.remove(build, { recursive: true }).catch(() => {});
    throw new ImageBuildError(
      `debootstrap failed with exit ${out.code}: ${
        text.trim().split("\n").slice(-3).join(" | ")
      }`,
    );
  }
  log(`debootstrap took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  await prepareRootfs(build);
  // Package caches are dead weight in a read-only image.
  for (const d of ["var/cache/apt/archives", "var/lib/apt/lists"]) {
    try {
      for await (const e of Deno.readDir(`${build}/${d}`)) {
        if (e.isFile) await Deno.remove(`${build}/${d}/${e.name}`);
      }
    } catch { /* not in this suite */ }
  }
  await Deno.writeTextFile(
    `${build}/etc/splitpilot-image`,
    `name=${name}\nversion=${version}\nsuite=${suite}\n`,
  );
  await Deno.rename(build, `${imageDir}/${version}`);
  await switchLatest(imageDir, version);
  const removed = await pruneImages(imageDir, keep);
  const setup = `${opts.softwareDir}/etc/setup.sh`;
  if (!(await exists(setup))) {
    await Deno.mkdir(`${opts.softwareDir}/etc`, { recursive: true });
    await Deno.writeTextFile(setup, DEFAULT_SETUP);
  }
  log(
    `${name}: latest -> ${version}${
      removed.length ? `; removed ${removed.join(", ")}` : ""
    }`,
  );
  return {
    name,
    version,
    dir: `${imageDir}/${version}`,
    latest: `${imageDir}/latest`,
    removed,
  };
}

/** Options of {@link ensureImage}. */
export interface EnsureImageOptions {
  /** The cache (a software dir). @default $SPLITPILOT_IMAGE_CACHE or /var/tmp/splitpilot-images */
  cacheDir?: string;
  /** Image name. @default "default" */
  name?: string;
  /** Progress lines. @default stderr */
  log?: (line: string) => void;
}

/**
 * The cached image: builds it once (under a lock, so concurrent callers
 * wait for the same build) and returns the rootfs path `latest` points to.
 */
export async function ensureImage(opts: EnsureImageOptions = {}): Promise<{
  softwareDir: string;
  name: string;
  dir: string;
}> {
  const cacheDir = opts.cacheDir ?? Deno.env.get(IMAGE_CACHE_ENV) ??
    DEFAULT_IMAGE_CACHE;
  const name = opts.name ?? "default";
  await Deno.mkdir(cacheDir, { recursive: true });
  const lock = await Deno.open(`${cacheDir}/.lock`, {
    write: true,
    create: true,
  });
  try {
    await lock.lock(true);
    const latest = `${cacheDir}/containers/${name}/latest`;
    if (!(await exists(latest))) {
      await buildImage({ softwareDir: cacheDir, name, log: opts.log });
    }
    return { softwareDir: cacheDir, name, dir: await Deno.realPath(latest) };
  } finally {
    lock.close();
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The command line; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  try {
    const f = parseArgs(args, {
      string: ["software-dir", "name", "suite", "mirror", "include", "keep"],
      boolean: ["help"],
    });
    if (f.help || !f["software-dir"]) {
      console.error(
        "usage: build_image.ts --software-dir DIR [--name default] [--suite bookworm] [--mirror URL] [--include PKG,…] [--keep 3]",
      );
      return f.help ? 0 : 2;
    }
    const keep = f.keep === undefined ? undefined : Number(f.keep);
    const built = await buildImage({
      softwareDir: f["software-dir"],
      name: f.name,
      suite: f.suite,
      mirror: f.mirror,
      include: f.include?.split(",").filter((p: string) => p.length > 0),
      keep,
    });
    console.log(JSON.stringify(built));
    return 0;
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
