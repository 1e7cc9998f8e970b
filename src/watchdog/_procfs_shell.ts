/**
 * The agent's window on `/proc` and `/sys`: one long-lived
 * `splitpilot-procfs` helper (see {@link ./helpers.ts}) answering one
 * request per line.
 *
 * Why a coprocess: Deno refuses every read below `/proc` (and `/sys`)
 * unless the process has `--allow-all`, which the agent must not have.
 * A child started through `--allow-run` reads them instead. Starting one
 * `cat` per file would cost a fork+exec each; the helper stays up and only
 * forks `grep` and `find` once per request.
 *
 * The same helper is the dead man's switch: when its stdin closes (the
 * agent exited or was SIGKILLed) it freezes and kills every process it was
 * told to guard, so no payload outlives its agent even without a pid
 * namespace. It runs in its own session so a kill of the agent's process
 * group does not take it down before it has done that.
 *
 * @module
 */
import { helperPath } from "./helpers.ts";

/** The procfs helper the agent runs (its `--allow-run` entry). */
export const PROCFS_SHELL: string = helperPath("procfs");

// Requests are whitespace-separated words, checked by `request()` (no
// shell syntax) and built by our own code; the helper never evaluates
// them. Every answer ends with "\n<nonce> <status>".

/** Raised when the coprocess is gone or answers nonsense. */
export class ProcfsShellError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "ProcfsShellError";
  }
}

const WORD = /^[A-Za-z0-9_.:/+@=-]+$/;

/** The coprocess: `request()` sends one line and returns the answer text. */
export class ProcfsShell {
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #dec = new TextDecoder();
  #nonce: string;
  #buf = "";
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  #enc = new TextEncoder();

  #timeoutMs: number;

  /**
   * Starts the shell. A request not answered within `timeoutMs` kills it
   * (a reader stuck in the kernel must not stall the agent).
   */
  constructor(opts: { shell?: string; timeoutMs?: number } = {}) {
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
    this.#nonce = `@end-${crypto.randomUUID()}`;
    this.#child = new Deno.Command(opts.shell ?? PROCFS_SHELL, {
      args: [this.#nonce],
      stdin: "piped",
      stdout: "piped",
      // Never hold the agent's stderr open after the agent is gone.
      stderr: "null",
      clearEnv: true,
      env: { PATH: "/usr/bin:/bin", LC_ALL: "C" },
      detached: true,
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#reader = this.#child.stdout.getReader();
  }

  /** Process ID of the helper. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Whether the shell is gone (closed, exited, or killed after a timeout). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Sends one request (words are checked: no spaces, no shell syntax) and
   * returns its answer without the end marker. Requests run one at a time.
   */
  request(
    command: string,
    args: readonly (string | number)[] = [],
  ): Promise<string> {
    const words = [command, ...args.map(String)];
    for (const w of words) {
      if (!WORD.test(w)) {
        return Promise.reject(
          new ProcfsShellError(
            `procfs request word ${
              JSON.stringify(w)
            }: expected letters, digits and . _ : / + @ = - only`,
          ),
        );
      }
    }
    const run = this.#queue.then(() => this.#timed(words.join(" ")));
    this.#queue = run.catch(() => {});
    return run;
  }

  async #timed(line: string): Promise<string> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.#closed = true;
        try {
          this.#child.kill("SIGKILL");
        } catch { /* gone */ }
        reject(
          new ProcfsShellError(
            `procfs shell did not answer "${
              line.split(" ")[0]
            }" within ${this.#timeoutMs} ms; killed it`,
          ),
        );
      }, this.#timeoutMs);
    });
    try {
      return await Promise.race([this.#roundTrip(line), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #roundTrip(line: string): Promise<string> {
    if (this.#closed) throw new ProcfsShellError("procfs shell is closed");
    await this.#writer.write(this.#enc.encode(line + "\n"));
    // Answers can be large (a stat line per process) and arrive in many
    // chunks: look for the end marker only in new text, join once.
    const marker = `\n${this.#nonce} `;
    // A virtual newline in front, so that an empty answer matches too.
    let pending = "\n" + this.#buf;
    const done: string[] = [];
    let from = 0;
    for (;;) {
      const at = pending.indexOf(marker, from);
      if (at >= 0) {
        const eol = pending.indexOf("\n", at + marker.length);
        if (eol >= 0) {
          done.push(pending.slice(0, at + 1));
          this.#buf = pending.slice(eol + 1);
          // Drop the virtual newline and the one the helper prints before
          // its end marker (the output may not end in one: NUL records).
          return done.join("").slice(1, -1);
        }
        from = at;
      } else {
        const keep = Math.max(0, pending.length - marker.length);
        done.push(pending.slice(0, keep));
        pending = pending.slice(keep);
        from = 0;
      }
      const { done: eof, value } = await this.#reader.read();
      if (eof) {
        this.#closed = true;
        throw new ProcfsShellError("procfs shell exited unexpectedly");
      }
      pending += this.#dec.decode(value, { stream: true });
    }
  }

  /**
   * Closes stdin, which also fires the dead man's switch for whatever is
   * still guarded (call `request("guard")` first to clear it), and waits.
   */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      await this.#queue;
      await this.#writer.close().catch(() => {});
    }
    await this.#reader.cancel().catch(() => {});
    await this.#child.status;
  }
}
