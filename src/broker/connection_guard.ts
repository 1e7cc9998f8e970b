/**
 * Keeps the broker accepting connections under floods and fd exhaustion.
 *
 * Deno 2.9.6's `node:net` accept loop stops for good after one `accept()`
 * fails with EMFILE: once the open-file limit is hit, the listening socket
 * is never polled again, even after every connection is gone (the kernel
 * keeps completing handshakes into the listen queue, nobody takes them).
 * A minimal `node:http` server shows the same; closing the listener and
 * listening again on the same port brings it back. So the guard:
 *
 * - caps connections below the fd limit (`server.maxConnections`: the
 *   excess is accepted and closed at once, which frees its fd) and per
 *   peer address (our own accounting on `connection`);
 * - checks the accept path every few seconds with a plain TCP connect to
 *   itself: a connection the server sees, or one it closes (at the cap),
 *   shows the loop alive; no sign within 10 s, twice in a row, means it is
 *   dead;
 * - on a dead loop logs one line, closes the listener and listens again;
 *   after `maxRecoveries` failed attempts in a row `broker serve` exits
 *   with code 70 so a supervisor restarts the process rather than leave it
 *   half-dead (an in-process broker only logs and keeps trying).
 *
 * @module
 */
import type { Server } from "node:net";

/** Connection limits and self-check settings (README "Operating limits"). */
export interface ConnectionLimits {
  /** Open client connections at most. @default 500 */
  maxConnections?: number;
  /** Open connections from one peer address at most. @default 200 */
  maxConnectionsPerPeer?: number;
  /**
   * Seconds between accept-path checks; 0 = none. `broker serve` uses 5;
   * an in-process broker checks only when this is set. @default 0
   */
  acceptCheckSeconds?: number;
  /** Failed recoveries in a row before giving up. @default 6 */
  maxRecoveries?: number;
  /**
   * Exit the process (code 70) on giving up, for a supervisor to restart
   * it; `broker serve` sets this. Otherwise the guard logs and keeps
   * trying. @default false
   */
  exitWhenDead?: boolean;
}

/** Default of {@link ConnectionLimits.maxConnections}. */
export const DEFAULT_MAX_CONNECTIONS = 500;
/** Default of {@link ConnectionLimits.maxConnectionsPerPeer}. */
export const DEFAULT_MAX_CONNECTIONS_PER_PEER = 200;

/** Exit code when the accept path cannot be brought back. */
export const EXIT_ACCEPT_DEAD = 70;

/** What the guard needs besides the limits. */
export interface GuardTarget {
  /** The listening server. */
  server: Server;
  /** Address it listens on. */
  hostname: string;
  /** Port it listens on. */
  port: number;
  /** One-line log sink. @default console.error */
  log?: (line: string) => void;
  /** Called instead of `Deno.exit(70)` (tests in one process). */
  exit?: (code: number) => void;
}

/** A running guard. */
export interface ConnectionGuard {
  /** Open connections now. */
  readonly open: number;
  /** Connections refused by the per-peer limit so far. */
  readonly refusedPerPeer: number;
  /** Times the listener was re-opened. */
  readonly recoveries: number;
  /** Runs one accept-path check now; true when the loop is alive. */
  check(): Promise<boolean>;
  /** Stops the periodic check. */
  stop(): void;
}

/** The address a self-check connects to for a listen address. */
function selfAddress(hostname: string): string {
  if (hostname === "0.0.0.0" || hostname === "") return "127.0.0.1";
  if (hostname === "::" || hostname === "[::]") return "::1";
  return hostname.replace(/^\[|\]$/g, "");
}

/**
 * Installs the limits on `target.server` and starts the periodic check.
 *
 * @example
 * ```ts ignore
 * const guard = guardConnections({ server, hostname, port }, {
 *   maxConnections: 500,
 * });
 * // …
 * guard.stop();
 * ```
 */
export function guardConnections(
  target: GuardTarget,
  limits: ConnectionLimits = {},
): ConnectionGuard {
  const { server } = target;
  const log = target.log ?? ((l: string) => console.error(l));
  const max = limits.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
  const perPeer = limits.maxConnectionsPerPeer ??
    Math.min(DEFAULT_MAX_CONNECTIONS_PER_PEER, max);
  const maxRecoveries = limits.maxRecoveries ?? 6;
  server.maxConnections = max;
  const byPeer = new Map<string, number>();
  const seenPorts = new Map<number, () => void>();
  let open = 0;
  let refusedPerPeer = 0;
  let lastPeerLog = 0;
  server.on("connection", (socket) => {
    const watcher = socket.remotePort !== undefined
      ? seenPorts.get(socket.remotePort)
      : undefined;
    watcher?.();
    const peer = socket.remoteAddress ?? "?";
    const n = (byPeer.get(peer) ?? 0) + 1;
    if (n > perPeer && !watcher) {
      refusedPerPeer++;
      const now = Date.now();
      if (now - lastPeerLog > 10_000) {
        lastPeerLog = now;
        log(
          `broker: refusing connections from ${peer}: ${perPeer} open (per-peer limit)`,
        );
      }
      socket.destroy();
      return;
    }
    byPeer.set(peer, n);
    open++;
    socket.once("close", () => {
      open--;
      const left = (byPeer.get(peer) ?? 1) - 1;
      if (left <= 0) byPeer.delete(peer);
      else byPeer.set(peer, left);
    });
  });
  server.on("error", (e: Error) => {
    // A failed re-listen (e.g. EMFILE for the new socket) lands here; the
    // next check tries again.
    log(`broker: listener error: ${e.message}`);
  });

  const address = selfAddress(target.hostname);
  const timeoutMs = 10_000;
  async function probe(): Promise<boolean> {
    let conn: Deno.TcpConn;
    try {
      conn = await Deno.connect({ hostname: address, port: target.port });
    } catch (e) {
      log(`broker: accept self-check cannot connect: ${(e as Error).message}`);
      return false;
    }
    const local = (conn.localAddr as Deno.NetAddr).port;
    const seen = Promise.withResolvers<boolean>();
    seenPorts.set(local, () => seen.resolve(true));
    const due = performance.now() + timeoutMs;
    const timer = setTimeout(async () => {
      // A stalled event loop (a long synchronous task) makes the timer and
      // the accept ready at once, and timers run first: give pending I/O
      // a turn, and call a late timer inconclusive rather than a failure.
      const late = performance.now() - due > 1000;
      await new Promise((r) => setTimeout(r, 200));
      seen.resolve(late);
    }, timeoutMs);
    // Closed by the server at the connection cap: the loop accepted it.
    conn.read(new Uint8Array(1)).then(
      () => seen.resolve(true),
      () => seen.resolve(true),
    );
    try {
      return await seen.promise;
    } finally {
      clearTimeout(timer);
      seenPorts.delete(local);
      try {
        conn.close();
      } catch { /* already closed */ }
    }
  }

  let recoveries = 0;
  let failedInRow = 0;
  const timer: { id?: ReturnType<typeof setInterval> } = {};
  let checking: Promise<boolean> | undefined;
  async function runCheck(): Promise<boolean> {
    if (await probe()) {
      if (failedInRow > 0) log("broker: accept path recovered");
      failedInRow = 0;
      return true;
    }
    failedInRow++;
    // One miss may be a stalled event loop on a busy machine: act on two.
    if (failedInRow < 2) return false;
    if (failedInRow > maxRecoveries + 1) {
      log(
        `broker: accept path still dead after ${maxRecoveries} re-listens${
          limits.exitWhenDead
            ? `; exiting (${EXIT_ACCEPT_DEAD}) for the supervisor to restart`
            : ""
        }`,
      );
      if (limits.exitWhenDead) (target.exit ?? Deno.exit)(EXIT_ACCEPT_DEAD);
      // In process: stop checking (the owner decides what to do).
      clearInterval(timer.id);
      return false;
    }
    log(
      `broker: accept path degraded (${open} connections open); re-opening the listener`,
    );
    recoveries++;
    await new Promise<void>((resolve) => {
      server.close();
      server.listen(target.port, target.hostname, () => resolve());
      // A failed listen reports through "error"; do not wait for it.
      setTimeout(resolve, 1000);
    });
    return false;
  }
  const check = () => (checking ??= runCheck().finally(() => {
    checking = undefined;
  }));
  const every = (limits.acceptCheckSeconds ?? 0) * 1000;
  timer.id = every > 0
    ? setInterval(() => void check().catch(() => {}), every)
    : undefined;
  if (timer.id !== undefined) Deno.unrefTimer(timer.id);
  return {
    get open() {
      return open;
    },
    get refusedPerPeer() {
      return refusedPerPeer;
    },
    get recoveries() {
      return recoveries;
    },
    check,
    stop: () => clearInterval(timer.id),
  };
}

/**
 * Warns when the connection cap leaves too few file descriptors: each
 * connection takes one, a transfer another (its file), and the database,
 * its WAL and the listener a few more. Reads `/proc/self/limits` where
 * permitted (Deno needs `--allow-all` for procfs, so under the broker's
 * own flags this is silently skipped).
 */
export function checkFdBudget(
  maxConnections: number,
  log: (line: string) => void = (l) => console.error(l),
): void {
  let text: string;
  try {
    text = Deno.readTextFileSync("/proc/self/limits");
  } catch {
    return;
  }
  const m = /Max open files\s+(\d+|unlimited)/.exec(text);
  if (!m || m[1] === "unlimited") return;
  const soft = Number(m[1]);
  if (maxConnections + 64 > soft) {
    log(
      `broker: warning: --max-connections ${maxConnections} is close to the open-file limit ${soft}; lower it or raise ulimit -n (README "Operating limits")`,
    );
  }
}
