/**
 * The software directory: a CVMFS-like read-only tree the site provides.
 *
 * ```
 * <root>/containers/<name>/latest -> <timestamp>   (symlink, switched atomically)
 * <root>/containers/<name>/<timestamp>/            (directory rootfs)
 * <root>/etc/setup.sh                               (job environment)
 * ```
 *
 * A job's JDL `Container` tag names the image (`el9` →
 * `containers/el9/latest`, `el9:2024-01` → `containers/el9/2024-01`); jobs
 * without one get the default image, or the host rootfs when there is
 * none. The agent resolves the link once per job, so a job keeps the image
 * it started with while `scripts/build_image.ts` switches `latest`.
 *
 * The whole directory is bound read-only into every container at
 * `SOFTWARE_PATH`; `etc/setup.sh` is sourced (POSIX sh) before the payload
 * runs, the same way for every runtime (see `setup_script.ts`).
 *
 * @module
 */

/**
 * Why an image cannot be used: `invalid` name, `missing` from the software
 * dir, or `broken` (there but unusable, a fault of the site).
 */
export type ImageErrorKind = "invalid" | "missing" | "broken";

/** Raised when a job's image cannot be used; the job goes to ERROR_A. */
export class ImageError extends Error {
  /** What is wrong. */
  readonly kind: ImageErrorKind;
  /**
   * @param kind `invalid` name, `missing` image or `broken` link.
   * @param message names the image and the path that failed.
   */
  constructor(kind: ImageErrorKind, message: string) {
    super(message);
    this.name = "ImageError";
    this.kind = kind;
  }
}

/** An image pinned for one job. */
export interface ResolvedImage {
  /** Image name, e.g. `el9`. */
  name: string;
  /** Version directory name the link pointed at, e.g. `20240101T120000Z`. */
  version: string;
  /** Absolute host path of the rootfs (links resolved). */
  dir: string;
  /** The reference as the job gave it (for runtimes taking references). */
  ref: string;
}

/** Options of {@link SoftwareDir}. */
export interface SoftwareDirOptions {
  /** Image for jobs without a `Container` tag. @default "default" */
  defaultImage?: string;
}

/** Directories every image must have (mount points of the launch). */
export const IMAGE_MOUNT_POINTS: readonly string[] = [
  "workdir",
  "opt/splitpilot",
];

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;
const TAG = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Splits `name[:tag]`; throws {@link ImageError} on anything else. */
export function parseImageRef(ref: string): { name: string; tag: string } {
  const colon = ref.lastIndexOf(":");
  const name = colon < 0 ? ref : ref.slice(0, colon);
  const tag = colon < 0 ? "latest" : ref.slice(colon + 1);
  if (!NAME.test(name) || !TAG.test(tag) || name.split("/").includes("..")) {
    throw new ImageError(
      "invalid",
      `Container "${ref}": expected name[:tag] with letters, digits, '.', '_', '-' and '/' between name parts`,
    );
  }
  return { name, tag };
}

/** A software directory on the host. */
export class SoftwareDir {
  /** Absolute host path. */
  readonly root: string;
  /** Image for jobs without a `Container` tag. */
  readonly defaultImage: string;

  /** Wraps `root` (not checked until used). */
  constructor(root: string, opts: SoftwareDirOptions = {}) {
    this.root = root.replace(/\/+$/, "") || "/";
    this.defaultImage = opts.defaultImage ?? "default";
    parseImageRef(this.defaultImage);
  }

  /** Host path of the setup script. */
  get setupScript(): string {
    return `${this.root}/etc/setup.sh`;
  }

  /** Host path of `containers/<name>/<tag>` (not resolved). */
  imagePath(ref: string): string {
    const { name, tag } = parseImageRef(ref);
    return `${this.root}/containers/${name}/${tag}`;
  }

  /** Whether the setup script exists. */
  async hasSetup(): Promise<boolean> {
    return (await statOrUndefined(this.setupScript))?.isFile ?? false;
  }

  /**
   * Pins the image for a job: its `Container` tag, else the default image,
   * else `undefined` (host rootfs). A named image that is missing or not a
   * directory throws {@link ImageError} with the path that was tried.
   */
  async resolve(container?: string): Promise<ResolvedImage | undefined> {
    const ref = container ?? this.defaultImage;
    const path = this.imagePath(ref);
    const st = await statOrUndefined(path);
    if (!st) {
      if (container === undefined) return undefined;
      throw new ImageError(
        "missing",
        `image ${container} not found: ${path} does not exist`,
      );
    }
    if (!st.isDirectory) {
      throw new ImageError(
        "broken",
        `image ${ref}: ${path} is not a directory rootfs`,
      );
    }
    // Runtimes cannot add mount points to a read-only image: say so here,
    // with the image's name, instead of a runtime error after the start.
    for (const mount of IMAGE_MOUNT_POINTS) {
      if (!(await statOrUndefined(`${path}/${mount}`))?.isDirectory) {
        throw new ImageError(
          "broken",
          `image ${ref} is not usable: it has no /${mount} (${path}); expected an image made by scripts/build_image.ts`,
        );
      }
    }
    const dir = await Deno.realPath(path);
    const { name } = parseImageRef(ref);
    return { name, version: dir.slice(dir.lastIndexOf("/") + 1), dir, ref };
  }
}

async function statOrUndefined(path: string) {
  try {
    return await Deno.stat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}
