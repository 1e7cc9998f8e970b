/**
 * The wrapper's own tiny flag parser. The wrapper is on the launch path of
 * every job, and `@std/cli`'s stand-in pulls in `node:util`, which costs
 * start-up time; the wrapper has four flags and needs nothing more.
 *
 * @module
 */

/** The wrapper's flags. */
export interface WrapperFlags {
  /** `--workdir DIR`: the sandbox as the wrapper sees it. */
  workdir?: string;
  /** `--start-timeout MS`: how long to wait for `start`. */
  startTimeout?: string;
  /** `--self-test`: the container probe. */
  selfTest: boolean;
  /**
   * `--prestarted`: started ahead of its job (the agent's warm pool); warm
   * up while waiting for `start`.
   */
  prestarted: boolean;
}

/** Parses the wrapper's flags; throws a one-line TypeError on anything else. */
export function parseWrapperFlags(args: readonly string[]): WrapperFlags {
  const flags: WrapperFlags = { selfTest: false, prestarted: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const [name, inline] = a.startsWith("--") && a.includes("=")
      ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]
      : [a, undefined];
    const value = () => {
      const v = inline ?? args[++i];
      if (v === undefined) throw new TypeError(`${name} needs a value`);
      return v;
    };
    if (name === "--workdir") flags.workdir = value();
    else if (name === "--start-timeout") flags.startTimeout = value();
    else if (name === "--self-test" && inline === undefined) {
      flags.selfTest = true;
    } else if (name === "--prestarted" && inline === undefined) {
      flags.prestarted = true;
    } else {
      throw new TypeError(
        `unknown argument "${a}"; expected --workdir DIR, --start-timeout MS, --self-test, --prestarted`,
      );
    }
  }
  return flags;
}
