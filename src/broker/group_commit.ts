/**
 * One durable sync per request (README "Performance"): the writes a
 * request makes (a batch's several transitions, a match's claim and token
 * serial, an upload's file and its per-attempt copy) commit as they go
 * but wait for the disk once, together, before the request is answered.
 *
 * The durability guarantee is the store's own: nothing is acknowledged
 * before it is on disk. Inside the request a later write may see an
 * earlier one that is committed but not yet synced, as any concurrent
 * reader already may; after a crash the WAL keeps a prefix of them, and
 * the client, never answered, sends the request again (every write a
 * request makes is safe to repeat, see src/client/retry_policy.ts and the
 * idempotency keys of submit and match).
 *
 * @module
 */
import { AsyncLocalStorage } from "node:async_hooks";

interface Scope {
  /** A write inside the scope still waits for its sync. */
  pending: boolean;
}

/** Writes inside {@link SyncScopes.run} defer their sync to its end. */
export class SyncScopes {
  #als = new AsyncLocalStorage<Scope>();

  /**
   * Runs `fn`; writes inside it that {@link defer} do not wait for the
   * disk, and `durable` is awaited once at the end (also when `fn` throws).
   */
  async run<T>(fn: () => Promise<T>, durable: () => Promise<void>): Promise<T> {
    if (this.#als.getStore()) return await fn();
    const scope: Scope = { pending: false };
    try {
      return await this.#als.run(scope, fn);
    } finally {
      if (scope.pending) await durable();
    }
  }

  /**
   * For a write that just committed: true (and its sync left to the end of
   * the scope) inside a scope; false outside, where it must wait itself.
   */
  defer(): boolean {
    const scope = this.#als.getStore();
    if (!scope) return false;
    scope.pending = true;
    return true;
  }
}
