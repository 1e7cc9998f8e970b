import type { OutputArchive, OutputEntry } from "./job_description.ts";
import { show } from "./_position.ts";

/** Thrown by the helpers here; the caller adds the position. */
export class NameProblem extends Error {
  constructor(problem: string) {
    super(problem);
    this.name = "NameProblem";
  }
}

function hasDotDot(name: string): boolean {
  return name.split("/").includes("..");
}

/** A logical file name with any `LF:` prefix stripped; absolute, no `..`, no NUL. */
export function logicalFileName(entry: string, key: string): string {
  const name = /^lf:/i.test(entry) ? entry.slice(3) : entry;
  if (!name.startsWith("/")) {
    throw new NameProblem(
      `expected an absolute logical file name in ${key}, found ${show(entry)}`,
    );
  }
  checkCommon(name, entry, key);
  return name;
}

/** A file name or glob inside the sandbox: relative, no `..`, no NUL. */
export function sandboxName(name: string, entry: string, key: string): string {
  if (name === "") {
    throw new NameProblem(
      `expected a file name in ${key}, found ${show(entry)}`,
    );
  }
  if (name.startsWith("/")) {
    throw new NameProblem(
      `expected a relative file name in ${key}, found ${show(entry)}`,
    );
  }
  checkCommon(name, entry, key);
  return name;
}

function checkCommon(name: string, entry: string, key: string): void {
  if (name.includes("\0")) {
    throw new NameProblem(
      `expected a file name without NUL characters in ${key}, found ${
        show(entry)
      }`,
    );
  }
  if (hasDotDot(name)) {
    throw new NameProblem(
      `expected a file name without ".." segments in ${key}, found ${
        show(entry)
      }`,
    );
  }
}

function options(
  spec: string,
  entry: string,
  key: string,
): Record<string, string> {
  if (spec.trim() === "") {
    throw new NameProblem(
      `expected options after "@" in ${key}, found ${show(entry)}`,
    );
  }
  const pairs: [string, string][] = [];
  const seen = new Set<string>();
  for (const item of spec.split(",")) {
    const eq = item.indexOf("=");
    const k = eq === -1 ? item.trim() : item.slice(0, eq).trim().toLowerCase();
    const v = eq === -1 ? "" : item.slice(eq + 1).trim();
    if (k === "") {
      throw new NameProblem(
        `expected an option name in ${key}, found ${show(entry)}`,
      );
    }
    if (seen.has(k)) {
      throw new NameProblem(
        `expected each option once in ${key}, found ${show(k)} twice in ${
          show(entry)
        }`,
      );
    }
    seen.add(k);
    pairs.push([k, v]);
  }
  // fromEntries makes own properties even for a key like "__proto__".
  return Object.fromEntries(pairs);
}

function splitAt(entry: string): [string, string | undefined] {
  const at = entry.indexOf("@");
  return at === -1
    ? [entry, undefined]
    : [entry.slice(0, at), entry.slice(at + 1)];
}

/** Parses `"name[@opt,k=v,…]"`. */
export function outputEntry(entry: string): OutputEntry {
  const key = "OutputFile";
  const [spec, opts] = splitAt(entry);
  const name = spec.trim();
  if (name.includes(":")) {
    throw new NameProblem(
      `expected a file name in OutputFile (archives go in OutputArchive), found ${
        show(entry)
      }`,
    );
  }
  return {
    name: sandboxName(name, entry, key),
    options: opts === undefined ? {} : options(opts, entry, key),
  };
}

/** Parses `"archive.zip:pattern,pattern[@opt,k=v,…]"`. */
export function outputArchive(entry: string): OutputArchive {
  const key = "OutputArchive";
  const [spec, opts] = splitAt(entry);
  const colon = spec.indexOf(":");
  if (colon === -1) {
    throw new NameProblem(
      `expected "archive:pattern,…" in OutputArchive, found ${show(entry)}`,
    );
  }
  const archive = sandboxName(spec.slice(0, colon).trim(), entry, key);
  const patterns = spec.slice(colon + 1).split(",").map((p) =>
    sandboxName(p.trim(), entry, key)
  );
  return {
    archive,
    patterns,
    options: opts === undefined ? {} : options(opts, entry, key),
  };
}

/**
 * `"a.zip:x,,y,@disk=1"` without its empty list items, or `undefined` when
 * there are none to drop (or nothing would be left).
 */
export function withoutEmptyItems(entry: string): string | undefined {
  const at = entry.indexOf("@");
  const spec = at === -1 ? entry : entry.slice(0, at);
  const colon = spec.indexOf(":");
  if (colon === -1) return undefined;
  const items = spec.slice(colon + 1).split(",");
  const kept = items.filter((p) => p.trim() !== "");
  if (kept.length === items.length || kept.length === 0) return undefined;
  return spec.slice(0, colon + 1) + kept.join(",") +
    (at === -1 ? "" : entry.slice(at));
}
