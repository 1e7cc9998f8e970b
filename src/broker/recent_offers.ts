/**
 * The slots agents offered lately (their last match request each), kept in
 * memory for "why is my job waiting" (`./why.ts`). Lost on a restart,
 * which only makes `why` say "no agent asked" until agents poll again.
 *
 * @module
 */
import type { SiteMap } from "../jdl/mod.ts";

/** One agent's last offer. */
export interface Offer {
  /** Agent certificate subject. */
  subject: string;
  /** The site map it sent (numbers, names, packages, attributes). */
  site: SiteMap;
  /** When, ms since epoch. */
  at: number;
}

/** Agents remembered at most (the oldest offer is forgotten first). */
const MAX_AGENTS = 10_000;

/** Last offer per agent. */
export class RecentOffers {
  #offers = new Map<string, Offer>();

  /** Records `subject`'s offer of `site` at `at`. */
  record(subject: string, site: SiteMap, at = Date.now()): void {
    this.#offers.delete(subject);
    this.#offers.set(subject, { subject, site, at });
    if (this.#offers.size > MAX_AGENTS) {
      const oldest = this.#offers.keys().next().value;
      if (oldest !== undefined) this.#offers.delete(oldest);
    }
  }

  /** Offers made since `since` (ms since epoch). */
  since(since: number): Offer[] {
    return [...this.#offers.values()].filter((o) => o.at >= since);
  }
}
