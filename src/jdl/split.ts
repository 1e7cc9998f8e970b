/**
 * Masterjobs: how a JDL with `Split` becomes subjob JDLs, as JAliEn's job
 * splitters do it.
 *
 * - `Split = "production:F-L"`: one subjob per counter value F…L.
 * - `Split = "file"`: one subjob per `InputData` file.
 * - `Split = "se"`: `InputData` grouped by storage element, each group
 *   cut into subjobs of at most `SplitMaxInputFileNumber` files. The
 *   caller supplies the grouping (the broker's file store knows no SE,
 *   so there it is a single group).
 *
 * In every subjob: `Split`, `SplitArguments` and
 * `SplitMaxInputFileNumber` are removed, `SplitArguments` is appended to
 * `Arguments`, `MasterJobID` is set, and the patterns `#alien_counter#`,
 * `#alien_counter_0Ni#` (the counter zero-padded to N digits),
 * `#alienfilename#` (base name of the subjob's first input) and
 * `#alienfilename/A/B/#` (that name with A replaced by B) are filled in
 * every string value. The counter of a file or se split counts subjobs
 * from 1.
 *
 * @module
 */
import type { Expr, JdlAttribute } from "./ast.ts";
import type { JobDescription } from "./job_description.ts";

/** A parsed `Split` value. */
export type SplitSpec =
  | { kind: "production"; first: number; last: number }
  | { kind: "file" }
  | { kind: "se"; maxFiles: number };

/** Most subjobs one masterjob may have. */
export const MAX_SUBJOBS = 100_000;

/** What one subjob gets. */
export interface SubjobInput {
  /** `#alien_counter#`. */
  counter: number;
  /** Its `InputData` (file and se splits), LFNs without `LF:`. */
  inputData?: string[];
}

/**
 * Reads a `Split` value (`production:F-L`, `file`, `se`); `maxFiles` is
 * `SplitMaxInputFileNumber`. Returns the problem as `expected …` text when
 * the value is not one of those.
 */
export function readSplit(raw: string, maxFiles: number): SplitSpec | string {
  const v = raw.trim().toLowerCase();
  if (v === "file") return { kind: "file" };
  if (v === "se") return { kind: "se", maxFiles };
  const m = /^production:\s*(\d+)\s*-\s*(\d+)$/.exec(v);
  if (m === null) {
    return `expected "production:FIRST-LAST", "file" or "se" for Split, found ${
      JSON.stringify(raw)
    }`;
  }
  const first = Number(m[1]);
  const last = Number(m[2]);
  if (first > last || last - first + 1 > MAX_SUBJOBS) {
    return `expected a range of 1 to ${MAX_SUBJOBS} subjobs for Split, found ${
      JSON.stringify(raw)
    }`;
  }
  return { kind: "production", first, last };
}

/** Lists the subjobs of a split, in order; `groups` are the se groups. */
export function plan(
  spec: SplitSpec,
  jd: JobDescription,
  groups: string[][] = [jd.inputData],
): SubjobInput[] {
  switch (spec.kind) {
    case "production": {
      const out: SubjobInput[] = [];
      for (let c = spec.first; c <= spec.last; c++) out.push({ counter: c });
      return out;
    }
    case "file":
      return jd.inputData.map((f, n) => ({ counter: n + 1, inputData: [f] }));
    case "se": {
      const out: SubjobInput[] = [];
      for (const g of groups) {
        for (let i = 0; i < g.length; i += spec.maxFiles) {
          out.push({
            counter: out.length + 1,
            inputData: g.slice(i, i + spec.maxFiles),
          });
        }
      }
      return out;
    }
  }
}

/** Fills the `#alien…#` patterns of one string for one subjob. */
export function fillPatterns(s: string, sub: SubjobInput): string {
  return s.replace(
    /#alien_counter(?:_(0?)(\d+)i)?#/gi,
    (_m, zero: string | undefined, width: string | undefined) => {
      const n = String(sub.counter);
      if (width === undefined) return n;
      return n.padStart(Number(width), zero === "0" ? "0" : " ");
    },
  ).replace(
    /#alienfilename(?:\/([^/#]*)\/([^/#]*)\/)?#/gi,
    (m, from: string | undefined, to: string | undefined) => {
      const first = sub.inputData?.[0];
      if (first === undefined) return m;
      const base = first.slice(first.lastIndexOf("/") + 1);
      return from === undefined || from === ""
        ? base
        : base.split(from).join(to ?? "");
    },
  );
}

function mapStrings(e: Expr, f: (s: string) => string): Expr {
  switch (e.kind) {
    case "literal":
      return typeof e.value === "string" ? { ...e, value: f(e.value) } : e;
    case "list":
      return { ...e, items: e.items.map((i) => mapStrings(i, f)) };
    case "unary":
      return { ...e, operand: mapStrings(e.operand, f) };
    case "binary":
      return {
        ...e,
        left: mapStrings(e.left, f),
        right: mapStrings(e.right, f),
      };
    case "call":
      return { ...e, args: e.args.map((a) => mapStrings(a, f)) };
    case "ref":
      return e;
  }
}

const DROPPED = new Set(["split", "splitarguments", "splitmaxinputfilenumber"]);

function str(value: string): Expr {
  return { kind: "literal", value };
}

/**
 * The statements of one subjob's JDL (print them with `formatJdl`).
 */
export function subjobAttributes(
  jd: JobDescription,
  masterId: string,
  sub: SubjobInput,
): JdlAttribute[] {
  const find = (k: string) =>
    jd.attributes.find((a) => a.key.toLowerCase() === k);
  const splitArgs = find("splitarguments");
  let extra = "";
  if (splitArgs !== undefined) {
    const v = splitArgs.value;
    const items = v.kind === "list" ? v.items : [v];
    extra = items.map((i) =>
      i.kind === "literal" && typeof i.value === "string" ? i.value : ""
    ).filter((s) => s !== "").join(" ");
  }
  const out: JdlAttribute[] = [];
  let sawArguments = false;
  let sawInputData = false;
  for (const a of jd.attributes) {
    const key = a.key.toLowerCase();
    if (DROPPED.has(key) || key === "masterjobid") continue;
    let value = a.value;
    if (key === "arguments" && extra !== "") {
      sawArguments = true;
      const own = value.kind === "literal" && typeof value.value === "string"
        ? value.value
        : jd.arguments.join(" ");
      value = str(own === "" ? extra : `${own} ${extra}`);
    }
    if (key === "inputdata" && sub.inputData !== undefined) {
      sawInputData = true;
      value = { kind: "list", items: sub.inputData.map((f) => str(`LF:${f}`)) };
    }
    out.push({ key: a.key, value });
  }
  if (!sawArguments && extra !== "") {
    out.push({ key: "Arguments", value: str(extra) });
  }
  if (!sawInputData && sub.inputData !== undefined) {
    out.push({
      key: "InputData",
      value: { kind: "list", items: sub.inputData.map((f) => str(`LF:${f}`)) },
    });
  }
  out.push({ key: "MasterJobID", value: str(masterId) });
  return out.map((a) => ({
    key: a.key,
    value: mapStrings(a.value, (s) => fillPatterns(s, sub)),
  }));
}
