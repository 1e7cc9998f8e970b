/**
 * An in-memory copy of the queue's match classes, to find the classes a
 * slot admits without touching a single job or queue row.
 *
 * Classes never change once stored, so the copy only grows. Admission by
 * site, CE and packages is cached per distinct "site signature" (pilots of
 * one site send the same), and extended incrementally when classes are
 * added; the numeric limits (cores, TTL, memory, disk) are checked per
 * call over that cached list. The semantics are exactly the store's SQL:
 * a slot memory or disk of 0 means unknown, not limited.
 *
 * @module
 */

/** One match class, as stored. */
export interface ClassInfo {
  /** Class ID. */
  id: number;
  /** Fewest cores. */
  cpuCores: number;
  /** Fewest seconds. */
  ttl: number;
  /** Fewest bytes of memory (0 = any). */
  memory: number;
  /** Fewest bytes of disk (0 = any). */
  disk: number;
  /** Allowed sites, lower case (empty = any). */
  sites: string[];
  /** Allowed CEs, lower case (empty = any). */
  ces: string[];
  /** Needed packages, lower case. */
  packages: string[];
  /** Whether `Requirements` says more than the keys. */
  residual: boolean;
}

/** A slot as the index filters it (numbers whole, strings lower case). */
export interface IndexSlot {
  /** Cores. */
  cpuCores: number;
  /** Seconds. */
  ttl: number;
  /** Memory, bytes (0 = unknown). */
  memory: number;
  /** Disk, bytes (0 = unknown). */
  disk: number;
  /** Site, lower case. */
  site: string | null;
  /** CE, lower case. */
  ce: string | null;
  /** Packages, lower case. */
  packages: string[];
}

interface Signature {
  /** Classes admitted by site, CE and packages, in ID order. */
  classes: ClassInfo[];
  /** How far into the class list this has looked. */
  upTo: number;
}

/** Most site signatures cached (least recently used ones go first). */
const MAX_SIGNATURES = 512;

/** See the module doc. */
export class ClassIndex {
  #list: ClassInfo[] = [];
  #byId = new Map<number, ClassInfo>();
  #signatures = new Map<string, Signature>();

  /** Highest class ID known (0 when empty). */
  get maxId(): number {
    return this.#list.length ? this.#list[this.#list.length - 1].id : 0;
  }

  /** Adds classes with IDs above {@link ClassIndex.maxId}, in ID order. */
  add(classes: ClassInfo[]): void {
    for (const c of classes) {
      if (c.id <= this.maxId) continue;
      this.#list.push(c);
      this.#byId.set(c.id, c);
    }
  }

  /** A class by ID. */
  get(id: number): ClassInfo | undefined {
    return this.#byId.get(id);
  }

  /**
   * IDs of the classes `slot` admits, in ID order; with `limit`, stops
   * after `limit + 1` of them (the caller only needs to know "many").
   */
  admitted(slot: IndexSlot, limit = Infinity): number[] {
    const pkgs = [...new Set(slot.packages)].sort();
    const key = `${slot.site ?? ""}\u0000${slot.ce ?? ""}\u0000${
      pkgs.join("\u0000")
    }`;
    let sig = this.#signatures.get(key);
    if (sig) {
      this.#signatures.delete(key);
    } else {
      sig = { classes: [], upTo: 0 };
      if (this.#signatures.size >= MAX_SIGNATURES) {
        this.#signatures.delete(this.#signatures.keys().next().value!);
      }
    }
    this.#signatures.set(key, sig);
    if (sig.upTo < this.#list.length) {
      const have = new Set(pkgs);
      for (let i = sig.upTo; i < this.#list.length; i++) {
        const c = this.#list[i];
        if (
          (c.sites.length === 0 ||
            (slot.site !== null && c.sites.includes(slot.site))) &&
          (c.ces.length === 0 ||
            (slot.ce !== null && c.ces.includes(slot.ce))) &&
          c.packages.every((p) => have.has(p))
        ) {
          sig.classes.push(c);
        }
      }
      sig.upTo = this.#list.length;
    }
    const out: number[] = [];
    for (const c of sig.classes) {
      if (
        c.cpuCores <= slot.cpuCores && c.ttl <= slot.ttl &&
        (slot.memory === 0 || c.memory <= slot.memory) &&
        (slot.disk === 0 || c.disk <= slot.disk)
      ) {
        out.push(c.id);
        if (out.length > limit) break;
      }
    }
    return out;
  }
}
