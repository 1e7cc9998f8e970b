/**
 * How {@linkcode parseJdl} reads: strict or lenient (as JAliEn), the
 * warnings a lenient read reports, and which values may never carry
 * control characters.
 *
 * @module
 */
import type { Expr, JdlAttribute, Value } from "./ast.ts";
import { parseText } from "./_parser.ts";
import { hasControl, locate, show } from "./_position.ts";

/** A construct read leniently (as JAliEn does), with where it is. */
export interface JdlWarning {
  /** 1-based line. */
  line: number;
  /** 1-based column, in code points. */
  column: number;
  /** What was accepted and how it was read. */
  message: string;
}

/** Options of {@linkcode parseJdl}. */
export interface ParseOptions {
  /**
   * `true` (the default): the ClassAd grammar and checks only. `false`:
   * also accept what JAliEn accepts (quoted numbers, repeated keys, bare
   * words in lists, strings spanning lines, empty items in an
   * OutputArchive list, a relative Executable that is not an InputFile,
   * which the broker then looks up) and report each use in `warnings`.
   */
  strict?: boolean;
  /** Receives one entry per leniency used, in source order. */
  warnings?: JdlWarning[];
}

/**
 * Keys whose values become paths, programs or arguments on a worker: no
 * control characters there, whatever the mode (a newline in a program
 * name would split any list it is written into).
 */
export const NO_CONTROL_KEYS = new Set([
  "executable",
  "inputfile",
  "inputdata",
  "inputdatacollection",
  "outputfile",
  "outputarchive",
  "output",
  "outputdir",
  "outputerrore",
  "validationcommand",
  "splitarguments",
  "container",
  "packages",
  "jdlvariables",
  "user",
  "split",
]);

/**
 * Line and column of the value of `key` in `text` (ignoring case; 1:1 if
 * the key is absent), for errors found after parsing, e.g. by the broker.
 */
export function valueLocation(
  text: string,
  key: string,
  opts: { strict?: boolean } = {},
): { line: number; column: number } {
  const parsed = parseText(text, { lenient: opts.strict === false });
  const a = parsed.attributes.find((x) =>
    x.key.toLowerCase() === key.toLowerCase()
  );
  if (a === undefined) return { line: 1, column: 1 };
  return locate(text, parsed.offsets.get(a.value) ?? 0);
}

/**
 * The first value of a {@linkcode NO_CONTROL_KEYS} key holding a control
 * character: where, and the error detail.
 */
export function findControl(
  attributes: readonly JdlAttribute[],
  valueOf: (i: number) => Value,
): { at: Expr; detail: string } | undefined {
  for (const [i, a] of attributes.entries()) {
    if (!NO_CONTROL_KEYS.has(a.key.toLowerCase())) continue;
    // Plain literals (the usual case) need no evaluation.
    const e = a.value;
    const plain = e.kind === "literal" ||
      (e.kind === "list" && e.items.every((x) => x.kind === "literal"));
    const v = plain
      ? (e.kind === "literal"
        ? e.value
        : e.items.map((x) => (x as { value: Value }).value))
      : valueOf(i);
    const items = Array.isArray(v) ? v : [v];
    for (const [n, item] of items.entries()) {
      if (typeof item !== "string" || !hasControl(item)) continue;
      const at = a.value.kind === "list"
        ? a.value.items[n] ?? a.value
        : a.value;
      return {
        at,
        detail:
          `expected a value without control characters in ${a.key}, found ${
            show(item)
          }`,
      };
    }
  }
  return undefined;
}
