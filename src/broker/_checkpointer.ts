/**
 * A worker thread that checkpoints the task queue's WAL into the database
 * file from its own connection, so the copy and its fsync never stall the
 * event loop that serves matches. A PASSIVE checkpoint takes no lock that
 * writers need.
 *
 * The worker is started from a blob URL: the broker runs with read access
 * to its state dir only, not to its own source files.
 *
 * @module
 */

/** The worker's code; serialized, so it must be self-contained. */
function checkpointerMain() {
  const scope = globalThis as unknown as {
    onmessage: ((e: MessageEvent) => void) | null;
    postMessage(m: unknown): void;
    close(): void;
  };
  // deno-lint-ignore no-explicit-any
  let db: any;
  let timer: ReturnType<typeof setInterval> | undefined;
  const checkpoint = () => {
    try {
      db?.exec("PRAGMA wal_checkpoint(PASSIVE)");
    } catch (e) {
      // Busy or I/O trouble: the next round tries again; the writer's own
      // fallback checkpoint bounds the WAL meanwhile.
      scope.postMessage({ error: String(e) });
    }
  };
  scope.onmessage = async (e: MessageEvent) => {
    if (e.data === "stop") {
      clearInterval(timer);
      checkpoint();
      db?.close();
      db = undefined;
      scope.postMessage("stopped");
      return;
    }
    const { DatabaseSync } = await import("node:sqlite");
    db = new DatabaseSync(e.data.path);
    db.exec("PRAGMA busy_timeout=5000");
    db.exec("PRAGMA synchronous=NORMAL");
    timer = setInterval(checkpoint, e.data.intervalMs);
    scope.postMessage("started");
  };
}

/** A running checkpointer. */
export interface Checkpointer {
  /** Runs a last checkpoint, closes the worker's connection and the worker. */
  stop(): Promise<void>;
}

/**
 * Starts checkpointing `path` every `intervalMs`. `onError` hears about a
 * worker that failed (the caller then falls back to inline checkpoints).
 */
export function startCheckpointer(
  path: string,
  intervalMs: number,
  onError: (message: string) => void,
): Checkpointer {
  const url = URL.createObjectURL(
    new Blob([`(${checkpointerMain.toString()})();`], {
      type: "text/javascript",
    }),
  );
  const worker = new Worker(url, { type: "module" });
  let stopped: (() => void) | undefined;
  let dead = false;
  worker.onmessage = (e) => {
    if (e.data === "stopped") stopped?.();
    else if (e.data?.error) onError(e.data.error);
  };
  worker.onerror = (e) => {
    e.preventDefault();
    dead = true;
    onError(e.message);
    stopped?.();
  };
  worker.postMessage({ path, intervalMs });
  return {
    stop: async () => {
      if (!dead) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 5000);
          stopped = () => {
            clearTimeout(timer);
            resolve();
          };
          worker.postMessage("stop");
        });
      }
      worker.terminate();
      URL.revokeObjectURL(url);
    },
  };
}
