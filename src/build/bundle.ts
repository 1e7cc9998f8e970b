/**
 * One role's program as a single JavaScript file (`deno bundle`), which
 * the runtime then runs with `--no-config --no-remote`: no module
 * resolution, import map or download at the site.
 *
 * @module
 */

/** Raised when a build step fails; the message says which and why. */
export class BuildError extends Error {
  /** @param message names the build step and its failure. */
  constructor(message: string) {
    super(message);
    this.name = "BuildError";
  }
}

/** Options of {@link bundleEntry}. */
export interface BundleOptions {
  /** Repository root (the bundler runs there, with its `deno.json`). */
  root: string;
  /** The deno used to bundle. @default Deno.execPath() */
  deno?: string;
}

/** Bundles `entry` (relative to `root`) and returns the JavaScript. */
export async function bundleEntry(
  entry: string,
  opts: BundleOptions,
): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "splitpilot-bundle-" });
  try {
    const out = `${dir}/out.js`;
    const r = await new Deno.Command(opts.deno ?? Deno.execPath(), {
      args: ["bundle", "--quiet", "--platform", "deno", "-o", out, entry],
      cwd: opts.root,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    if (!r.success) {
      throw new BuildError(
        `deno bundle ${entry} failed (exit ${r.code}): ${
          new TextDecoder().decode(r.stderr).trim().split("\n").slice(-5)
            .join(" | ")
        }`,
      );
    }
    const js = await Deno.readFile(out);
    // A bundle must not reach for anything at run time but node: built-ins.
    const text = new TextDecoder().decode(js);
    const remote = /\bfrom\s+["'](?:https?|npm|jsr):[^"']*["']/.exec(text) ??
      /\bimport\s*\(\s*["'](?:https?|npm|jsr):/.exec(text);
    if (remote) {
      throw new BuildError(
        `bundle of ${entry} still imports ${
          remote[0]
        }; expected only node: built-ins`,
      );
    }
    return js;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
