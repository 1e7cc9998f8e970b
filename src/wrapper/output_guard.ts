/**
 * Which sandbox files may leave as outputs (`OutputFile`, `OutputArchive`
 * members, stdout/stderr).
 *
 * The payload controls the sandbox, so an output name can lead anywhere:
 * `d/passwd` with `d -> /etc`, `t/key.pem` with `t ->` the agent's token
 * dir, or a hard link to a file the payload cannot otherwise copy out of
 * the host. Only a regular file whose every path component lies inside
 * the sandbox is uploaded:
 *
 * - the name is relative, with no `.`, `..` or empty component;
 * - no component is a symlink (at any depth), every parent is a directory;
 * - the file is a regular file with exactly one hard link;
 * - the file opened is the file checked (same device and inode, still one
 *   link), so a leftover process cannot swap it between check and read.
 *
 * @module
 */

/** A refused output, with the reason for the job's trace. */
export class OutputRefused extends Error {
  /** Creates the error for output `name`. */
  constructor(readonly output: string, reason: string) {
    super(`output ${output} refused: ${reason}`);
    this.name = "OutputRefused";
  }
}

/**
 * Checks output `name` below `workdir`; returns its `lstat`. Throws
 * {@link OutputRefused} for anything but a plain regular file inside the
 * sandbox, and `Deno.errors.NotFound` when it (or a parent) is absent.
 *
 * @example
 * ```ts
 * await checkOutput("/workdir", "results/summary.txt"); // FileInfo
 * await checkOutput("/workdir", "d/passwd"); // throws OutputRefused if d is a symlink
 * ```
 */
export async function checkOutput(
  workdir: string,
  name: string,
): Promise<Deno.FileInfo> {
  const parts = name.split("/");
  if (
    name.startsWith("/") ||
    parts.some((p) => p === "" || p === "." || p === "..")
  ) {
    throw new OutputRefused(
      name,
      "expected a relative path inside the sandbox, without '.', '..' or empty components",
    );
  }
  let path = workdir;
  for (let i = 0; i < parts.length; i++) {
    path += `/${parts[i]}`;
    const st = await Deno.lstat(path);
    const shown = parts.slice(0, i + 1).join("/");
    if (st.isSymlink) {
      throw new OutputRefused(
        name,
        `${shown} is a symbolic link; only files inside the sandbox are uploaded`,
      );
    }
    if (i < parts.length - 1 && !st.isDirectory) {
      throw new OutputRefused(name, `${shown} is not a directory`);
    }
    if (i === parts.length - 1) {
      if (!st.isFile) {
        throw new OutputRefused(name, "not a regular file");
      }
      if ((st.nlink ?? 1) !== 1) {
        throw new OutputRefused(
          name,
          `the file has ${st.nlink} hard links; expected 1 (a link could lead out of the sandbox)`,
        );
      }
      return st;
    }
  }
  throw new OutputRefused(name, "empty name");
}

/** Whether `name` is a plain output (absent or refused: false). */
export async function isPlainOutput(
  workdir: string,
  name: string,
): Promise<boolean> {
  try {
    await checkOutput(workdir, name);
    return true;
  } catch {
    return false;
  }
}

/**
 * Opens output `name` for reading after {@link checkOutput}, and checks
 * that the open file is the checked one. Close the returned file.
 */
export async function openOutput(
  workdir: string,
  name: string,
): Promise<Deno.FsFile> {
  const before = await checkOutput(workdir, name);
  const file = await Deno.open(`${workdir}/${name}`, { read: true });
  try {
    const now = await file.stat();
    if (
      !now.isFile || now.ino !== before.ino || now.dev !== before.dev ||
      (now.nlink ?? 1) !== 1
    ) {
      throw new OutputRefused(name, "the file changed while it was checked");
    }
    return file;
  } catch (e) {
    file.close();
    throw e;
  }
}
