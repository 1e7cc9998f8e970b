/**
 * Finding a runtime program on `PATH` (singularity and apptainer live
 * wherever the site installed them: /usr/bin, /usr/local/bin, CVMFS, a
 * build prefix), for processes with and without read access to `PATH`.
 *
 * @module
 */

/**
 * The first `dir/name` on `PATH` that is a file, or `undefined`.
 *
 * A process without read access to the `PATH` directories (the agent,
 * whose `--allow-read` is its own table row) cannot stat candidates; it
 * takes the first candidate it is allowed to run instead, which is the
 * one its parent resolved and granted (`--allow-run`).
 *
 * @example
 * ```ts
 * const singularity = findOnPath("singularity"); // "/opt/singularity-2.6.1/bin/singularity"
 * ```
 */
export function findOnPath(
  name: string,
  path: string | undefined = readPath(),
): string | undefined {
  if (name.includes("/")) return name;
  let allowed: string | undefined;
  for (const dir of (path ?? "").split(":")) {
    if (!dir.startsWith("/")) continue; // relative PATH entries are a trap
    const candidate = `${dir.replace(/\/+$/, "")}/${name}`;
    try {
      if (Deno.statSync(candidate).isFile) return candidate;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) continue;
      if (
        allowed === undefined &&
        Deno.permissions.querySync({ name: "run", command: candidate })
            .state === "granted"
      ) allowed = candidate;
    }
  }
  return allowed;
}

function readPath(): string | undefined {
  try {
    return Deno.env.get("PATH");
  } catch {
    return undefined; // no --allow-env=PATH
  }
}
