/**
 * The agent lease: how a container that its runtime detaches from the
 * agent (podman's conmon, docker's daemon, apptainer's starter) still dies
 * with the agent.
 *
 * The agent creates a lease file per job and holds an exclusive `flock` on
 * it while the job runs. Inside the container a small shim is pid 1 (or
 * the runtime init's only child): it starts the wrapper, and a watcher
 * blocks on a shared lock of the same file, bound read-only into the
 * container. The kernel drops the agent's lock when the agent releases it
 * or dies, even by SIGKILL; the watcher then gets its lock and kills the
 * wrapper. Whenever the wrapper exits, the shim exits with its status, and
 * since the shim is the init of the container's pid namespace (or, under
 * apptainer, the only child of the runtime's init), the kernel then kills
 * every process left in the namespace, the payload's included.
 *
 * The watcher signals only the wrapper's pid (never `kill -1`), so even a
 * shim run outside a pid namespace by mistake can hurt nothing else.
 *
 * A payload can kill the watcher (same uid inside); the lease is for
 * cleanup after crashes, not a defence against the payload.
 *
 * @module
 */
import { PROGRAM_PATH } from "./driver.ts";

/** Where the lease file appears inside the container. */
export const LEASE_PATH = `${PROGRAM_PATH}/lease`;

/**
 * The shim, for `sh -c SHIM splitpilot-lease LEASE argv…`. fd 3 keeps the
 * real stdin: a background job's stdin is /dev/null otherwise.
 */
export const LEASE_SHIM = [
  "lease=$1; shift; exec 3<&0",
  '"$@" 0<&3 3<&- & w=$!',
  '{ flock -s 9; kill -KILL "$w"; } 9<"$lease" 0</dev/null 3<&- &',
  'wait "$w"',
].join("\n");

/** `argv` run under the lease shim (container paths). */
export function leaseArgv(argv: string[], lease = LEASE_PATH): string[] {
  return ["/bin/sh", "-c", LEASE_SHIM, "splitpilot-lease", lease, ...argv];
}

/** A held lease; release it when the job is over. */
export interface Lease {
  /** Host path of the lease file. */
  readonly path: string;
  /** Drops the lock (the container dies) and removes the file. */
  release(): Promise<void>;
}

/** Creates the lease file at `path` and takes the exclusive lock. */
export async function holdLease(path: string): Promise<Lease> {
  const file = await Deno.open(path, {
    read: true,
    write: true,
    create: true,
    truncate: true,
    mode: 0o644,
  });
  try {
    await file.lock(true);
  } catch (e) {
    file.close();
    throw e;
  }
  let released = false;
  return {
    path,
    release: async () => {
      if (released) return;
      released = true;
      file.close(); // closing drops the flock
      await Deno.remove(path).catch(() => {});
    },
  };
}
