/**
 * The known fields of a parsed JDL: each evaluated without a site,
 * checked, and turned into its {@link JobDescription} field (the work
 * behind `parseJdl` in `./parse.ts`).
 *
 * @module
 */
import { parsePayloadNetwork } from "./payload_network.ts";
import type { Expr, JdlAttribute, Value } from "./ast.ts";
import type {
  JobDescription,
  OutputArchive as OutputArchiveT,
  OutputEntry,
} from "./job_description.ts";
import { evaluateIn } from "./_evaluator.ts";
import type { ParsedText } from "./_parser.ts";
import { errorAt, hasControl, show } from "./_position.ts";
import { shellWords } from "./_shell_words.ts";
import { parseDuration, parseSize } from "./_units.ts";
import { MAX_SUBJOBS, readSplit, type SplitSpec } from "./split.ts";
import {
  logicalFileName,
  NameProblem,
  outputArchive,
  outputEntry,
  withoutEmptyItems,
} from "./_names.ts";

import { findControl } from "./parse_options.ts";

/** Default `TTL` in seconds. */
export const DEFAULT_TTL = 3600;

/** Builds a job description from parsed JDL text. */
export class Fields {
  readonly text: string;
  readonly parsed: ParsedText;
  readonly attributes: JdlAttribute[];
  readonly lenient: boolean;
  readonly warn: (offset: number, message: string) => void;

  constructor(
    text: string,
    parsed: ParsedText,
    lenient: boolean,
    warn: (offset: number, message: string) => void,
  ) {
    this.text = text;
    this.parsed = parsed;
    this.attributes = parsed.attributes;
    this.lenient = lenient;
    this.warn = warn;
  }

  offsetOf(at: Expr): number {
    return this.parsed.offsets.get(at) ?? 0;
  }

  /** Refuses control characters in values that reach a worker as paths, programs or arguments. */
  noControl(): void {
    const bad = findControl(this.attributes, (i) => this.value(i));
    if (bad) this.fail(bad.at, bad.detail);
  }

  build(): JobDescription {
    this.noControl();
    const byKey = new Map<string, number>();
    this.attributes.forEach((a, i) => byKey.set(a.key.toLowerCase(), i));
    const index = (k: string) => byKey.get(k);

    const inputFile = this.files(index("inputfile"), "InputFile");
    const output = this.output(index("output"));
    const jd: JobDescription = {
      executable: this.executable(index("executable"), inputFile),
      arguments: this.arguments(index("arguments")),
      inputFile,
      inputData: this.files(index("inputdata"), "InputData"),
      outputFile: [
        ...this.entries(index("outputfile"), outputEntry),
        ...output.files,
      ],
      outputArchive: [
        ...this.entries(
          index("outputarchive"),
          (e) => outputArchive(this.dropEmpty(e)),
        ),
        ...output.archives,
      ],
      ttl: this.lenient
        ? this.lenientTtl(index("ttl"))
        : this.integer(index("ttl"), DEFAULT_TTL, 1),
      cpuCores: this.integer(index("cpucores"), 1, 1),
      packages: this.strings(index("packages")),
      jdlVariables: this.strings(index("jdlvariables")),
      priority: this.integer(index("priority"), 0, -Number.MAX_SAFE_INTEGER),
      attributes: this.attributes,
    };
    const memorySize = this.size(index("memorysize"));
    if (memorySize !== undefined) jd.memorySize = memorySize;
    const workDir = this.size(index("workdirectorysize"));
    if (workDir !== undefined) jd.workDirectorySize = workDir;
    const validation = this.string(index("validationcommand"));
    if (validation !== undefined) jd.validationCommand = validation;
    const container = this.string(index("container"));
    if (container !== undefined) jd.container = container;
    const network = this.string(index("network"));
    if (network !== undefined) {
      const n = parsePayloadNetwork(network);
      if (n === undefined) {
        this.fail(
          this.attributes[index("network")!].value,
          `Network must be "none" or "host", got ${JSON.stringify(network)}`,
        );
      }
      jd.network = n;
    }
    const price = this.price(index("price"));
    if (price !== undefined) jd.price = price;
    const wait = this.duration(index("maxwaitingtime"));
    if (wait !== undefined) jd.maxWaitingTime = wait;
    const user = this.string(index("user"));
    if (user !== undefined) jd.user = user;
    const split = this.split(index("split"), index("splitmaxinputfilenumber"));
    if (split !== undefined) jd.split = split;
    const req = index("requirements");
    if (req !== undefined) jd.requirements = this.attributes[req].value;
    return jd;
  }

  /**
   * `Split`. A value still holding an argument placeholder (`$4`) is left
   * for the submission, which fills it first.
   */
  split(
    i: number | undefined,
    maxIndex: number | undefined,
  ): SplitSpec | undefined {
    if (i === undefined) return undefined;
    const raw = this.string(i)!;
    if (/\$\d/.test(raw)) return undefined;
    const max = maxIndex === undefined
      ? MAX_SUBJOBS
      : this.integer(maxIndex, MAX_SUBJOBS, 1);
    const spec = readSplit(raw, max);
    if (typeof spec === "string") this.fail(this.attributes[i].value, spec);
    return spec;
  }

  /** Evaluates a statement's value the way typed fields see it: no site. */
  value(i: number): Value {
    return evaluateIn(this.attributes[i].value, {
      other: {},
      attributes: this.attributes,
    });
  }

  /**
   * JAliEn's `Output`: entries with `name:` are archives, others files.
   * Read only in lenient mode (strict keeps it an unknown key).
   */
  output(i: number | undefined): {
    files: OutputEntry[];
    archives: OutputArchiveT[];
  } {
    const files: OutputEntry[] = [];
    const archives: OutputArchiveT[] = [];
    if (i === undefined || !this.lenient) return { files, archives };
    this.entries(i, (entry) => {
      const colon = entry.split("@")[0].indexOf(":");
      if (colon === -1) files.push(outputEntry(entry));
      else archives.push(outputArchive(this.dropEmpty(entry)));
      return null;
    });
    return { files, archives };
  }

  /** `"a.zip:x,y,@disk=1"`: JAliEn skips the empty item; so do we, with a warning. */
  dropEmpty(entry: string): string {
    const kept = this.lenient ? withoutEmptyItems(entry) : undefined;
    if (kept === undefined) return entry;
    this.pendingWarning = `empty item in the file list of ${
      show(entry)
    } skipped, as JAliEn does`;
    return kept;
  }

  pendingWarning: string | undefined;

  /** TTL: a whole number, or in lenient mode a quoted duration such as "18 hours". */
  lenientTtl(i: number | undefined): number {
    if (i === undefined) return DEFAULT_TTL;
    const v = this.value(i);
    if (typeof v === "string" && !/^\s*[+-]?\d+\s*$/.test(v)) {
      const n = parseDuration(v);
      if (n !== undefined) {
        this.warn(
          this.offsetOf(this.attributes[i].value),
          `TTL ${show(v)} read as ${n} seconds`,
        );
        return n;
      }
    }
    return this.integer(i, DEFAULT_TTL, 1);
  }

  fail(at: Expr | number, detail: string): never {
    const offset = typeof at === "number"
      ? at
      : this.parsed.offsets.get(at) ?? 0;
    throw errorAt(this.text, offset, detail);
  }

  expectedFor(i: number, kind: string, v: Value, at?: Expr): never {
    const key = this.attributes[i].key;
    this.fail(
      at ?? this.attributes[i].value,
      `expected ${kind} for ${key}, found ${describe(v)}`,
    );
  }

  string(i: number | undefined): string | undefined {
    if (i === undefined) return undefined;
    const v = this.value(i);
    if (typeof v !== "string") this.expectedFor(i, "a string", v);
    return v;
  }

  /** A string or a list of strings, as a list. */
  strings(i: number | undefined): string[] {
    if (i === undefined) return [];
    const v = this.value(i);
    if (typeof v === "string") return [v];
    if (!Array.isArray(v)) this.expectedFor(i, "a list of strings", v);
    const expr = this.attributes[i].value;
    return v.map((item, n) => {
      if (typeof item !== "string") {
        const at = expr.kind === "list" ? expr.items[n] : expr;
        this.expectedFor(i, "a list of strings", item, at);
      }
      return item;
    });
  }

  executable(i: number | undefined, inputFile: string[]): string {
    if (i === undefined) {
      this.fail(0, 'expected an "Executable" key, found none');
    }
    const exe = this.string(i)!;
    const expr = this.attributes[i].value;
    if (exe === "" || exe.includes("\0")) {
      this.fail(expr, `expected a program for Executable, found ${show(exe)}`);
    }
    if (exe.startsWith("/")) return exe;
    if (
      !inputFile.some((f) => f.slice(f.lastIndexOf("/") + 1) === exe) &&
      !this.lenient
    ) {
      this.fail(
        expr,
        `expected an absolute path or the name of an InputFile for Executable, found ${
          show(exe)
        }`,
      );
    }
    return exe;
  }

  arguments(i: number | undefined): string[] {
    if (i === undefined) return [];
    const v = this.value(i);
    if (Array.isArray(v)) {
      const list = this.strings(i);
      list.forEach((w, n) => {
        if (!hasControl(w)) return;
        const e = this.attributes[i].value;
        this.fail(
          e.kind === "list" ? e.items[n] : e,
          `expected a value without control characters in Arguments, found ${
            show(w)
          }`,
        );
      });
      return list;
    }
    if (typeof v !== "string") {
      this.expectedFor(i, "a string", v);
    }
    const words = shellWords(v);
    if (!Array.isArray(words)) {
      this.fail(
        this.attributes[i].value,
        `expected shell words in Arguments, found an ${words.problem}`,
      );
    }
    // Whitespace between words may be any; inside a word no control
    // character may reach the payload's argv.
    const bad = words.find((w) => hasControl(w));
    if (bad !== undefined) {
      this.fail(
        this.attributes[i].value,
        `expected a value without control characters in Arguments, found ${
          show(bad)
        }`,
      );
    }
    return words;
  }

  files(i: number | undefined, key: string): string[] {
    return this.entries(i, (entry) => logicalFileName(entry, key));
  }

  /** Parses each string of a list, reporting problems at the item. */
  entries<T>(i: number | undefined, parse: (entry: string) => T): T[] {
    if (i === undefined) return [];
    const list = this.strings(i);
    const expr = this.attributes[i].value;
    return list.map((entry, n) => {
      const at = expr.kind === "list" ? expr.items[n] : expr;
      try {
        const out = parse(entry);
        if (this.pendingWarning !== undefined) {
          this.warn(this.offsetOf(at), this.pendingWarning);
          this.pendingWarning = undefined;
        }
        return out;
      } catch (e) {
        if (!(e instanceof NameProblem)) throw e;
        this.fail(expr.kind === "list" ? expr.items[n] : expr, e.message);
      }
    });
  }

  integer(i: number | undefined, fallback: number, min: number): number {
    if (i === undefined) return fallback;
    const v = this.value(i);
    const n = typeof v === "string" && /^\s*[+-]?\d+\s*$/.test(v)
      ? Number(v)
      : v;
    if (typeof n !== "number" || !Number.isSafeInteger(n) || n < min) {
      const what = min > 0 ? "a positive whole number" : "a whole number";
      this.expectedFor(i, what, v);
    }
    return n;
  }

  size(i: number | undefined): number | undefined {
    if (i === undefined) return undefined;
    let v = this.value(i);
    if (Array.isArray(v) && v.length === 1) v = v[0];
    const n = parseSize(v);
    if (n === undefined) {
      this.expectedFor(
        i,
        'a size (MB, or a string such as "8GB")',
        this.value(i),
      );
    }
    return n;
  }

  price(i: number | undefined): number | undefined {
    if (i === undefined) return undefined;
    let v = this.value(i);
    if (
      this.lenient && typeof v === "string" &&
      /^\s*\d+(\.\d+)?\s*$/.test(v)
    ) {
      this.warn(
        this.offsetOf(this.attributes[i].value),
        `quoted number ${show(v)} for Price read as a number, as JAliEn does`,
      );
      v = Number(v);
    }
    if (typeof v !== "number" || v < 0) {
      this.expectedFor(i, "a number of at least 0", v);
    }
    return v;
  }

  duration(i: number | undefined): number | undefined {
    if (i === undefined) return undefined;
    const v = this.value(i);
    const n = parseDuration(v);
    if (n === undefined) {
      this.expectedFor(i, 'a duration (seconds, or a string such as "2h")', v);
    }
    return n;
  }
}

/** Describes an evaluated value for an error message. */
function describe(v: Value): string {
  if (v === undefined) return "undefined (a missing key or a bad expression)";
  if (typeof v === "string") return `string ${show(v)}`;
  if (typeof v === "number") return `number ${v}`;
  if (typeof v === "boolean") return `boolean ${v}`;
  return `a list of ${v.length} item${v.length === 1 ? "" : "s"}`;
}
