/**
 * A small regular-expression matcher that runs in time linear in the input
 * (a Pike VM over a Thompson NFA), because patterns come from users and the
 * broker must not be stalled by catastrophic backtracking.
 *
 * Syntax: literals, `.`, `[…]`/`[^…]` with ranges, `\d \w \s` (and upper
 * case negations), other escaped characters as literals, `^`, `$`, groups
 * `(…)`/`(?:…)`, `|`, and the quantifiers `* + ? {m} {m,} {m,n}`. No
 * back-references or look-arounds. Matching is a search (like
 * `RegExp.test`), on UTF-16 code units.
 */

/** Longest pattern compiled. */
const MAX_PATTERN = 1000;
/** Most instructions a compiled pattern may have. */
const MAX_PROGRAM = 2000;
/** Longest input searched. */
const MAX_INPUT = 10_000;
/** Most compiled patterns kept. */
const CACHE_SIZE = 256;

type Test = (c: number) => boolean;

type Node =
  | { t: "char"; test: Test }
  | { t: "cat"; items: Node[] }
  | { t: "alt"; items: Node[] }
  | { t: "rep"; node: Node; min: number; max: number }
  | { t: "bol" }
  | { t: "eol" };

type Inst =
  | { op: "char"; test: Test }
  | { op: "split"; x: number; y: number }
  | { op: "jmp"; x: number }
  | { op: "bol" }
  | { op: "eol" }
  | { op: "match" };

class Syntax extends Error {}

const isDigit: Test = (c) => c >= 48 && c <= 57;
const isWord: Test = (c) =>
  isDigit(c) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isSpace: Test = (c) => c === 32 || (c >= 9 && c <= 13);
const CLASSES: Record<string, Test> = {
  d: isDigit,
  D: (c) => !isDigit(c),
  w: isWord,
  W: (c) => !isWord(c),
  s: isSpace,
  S: (c) => !isSpace(c),
};
const CONTROL: Record<string, number> = { n: 10, r: 13, t: 9, f: 12, v: 11 };

class Parser {
  readonly src: string;
  readonly fold: boolean;
  i = 0;
  depth = 0;

  constructor(src: string, fold: boolean) {
    this.src = src;
    this.fold = fold;
  }

  parse(): Node {
    const n = this.alt();
    if (this.i < this.src.length) throw new Syntax("unbalanced )");
    return n;
  }

  alt(): Node {
    const items = [this.cat()];
    while (this.src[this.i] === "|") {
      this.i++;
      items.push(this.cat());
    }
    return items.length === 1 ? items[0] : { t: "alt", items };
  }

  cat(): Node {
    const items: Node[] = [];
    while (
      this.i < this.src.length && this.src[this.i] !== "|" &&
      this.src[this.i] !== ")"
    ) {
      items.push(this.repeat());
    }
    return { t: "cat", items };
  }

  repeat(): Node {
    let node = this.atom();
    for (;;) {
      const c = this.src[this.i];
      let min: number, max: number;
      if (c === "*") [min, max] = [0, Infinity];
      else if (c === "+") [min, max] = [1, Infinity];
      else if (c === "?") [min, max] = [0, 1];
      else if (c === "{") {
        const m = /^\{(\d{1,4})(,(\d{0,4}))?\}/.exec(this.src.slice(this.i));
        if (m === null) return node; // a literal "{", as in JavaScript
        min = Number(m[1]);
        max = m[2] === undefined ? min : m[3] === "" ? Infinity : Number(m[3]);
        if (max < min) throw new Syntax("bad repetition");
        this.i += m[0].length - 1;
      } else return node;
      this.i++;
      if (this.src[this.i] === "?") this.i++; // laziness does not change a yes/no answer
      node = { t: "rep", node, min, max };
    }
  }

  atom(): Node {
    const c = this.src[this.i++];
    switch (c) {
      case "(": {
        if (++this.depth > 50) throw new Syntax("too deep");
        if (this.src.startsWith("?:", this.i)) this.i += 2;
        const inner = this.alt();
        if (this.src[this.i++] !== ")") throw new Syntax("missing )");
        this.depth--;
        return inner;
      }
      case ".":
        return { t: "char", test: (x) => x !== 10 && x !== 13 };
      case "^":
        return { t: "bol" };
      case "$":
        return { t: "eol" };
      case "[":
        return { t: "char", test: this.charClass() };
      case "\\":
        return { t: "char", test: this.escape() };
      case "*":
      case "+":
      case "?":
        throw new Syntax("nothing to repeat");
    }
    return { t: "char", test: this.literal(c.charCodeAt(0)) };
  }

  literal(code: number): Test {
    if (!this.fold) return (x) => x === code;
    const lower = foldCase(code);
    return (x) => foldCase(x) === lower;
  }

  escape(): Test {
    const e = this.src[this.i++];
    if (e === undefined) throw new Syntax("trailing backslash");
    if (Object.hasOwn(CLASSES, e)) return CLASSES[e];
    return this.literal(
      Object.hasOwn(CONTROL, e) ? CONTROL[e] : e.charCodeAt(0),
    );
  }

  charClass(): Test {
    const negate = this.src[this.i] === "^";
    if (negate) this.i++;
    const parts: Test[] = [];
    let first = true;
    for (;;) {
      if (this.i >= this.src.length) throw new Syntax("missing ]");
      const c = this.src[this.i++];
      if (c === "]" && !first) break;
      first = false;
      let lo: number;
      if (c === "\\") {
        const e = this.src[this.i++];
        if (e === undefined) throw new Syntax("trailing backslash");
        if (Object.hasOwn(CLASSES, e)) {
          parts.push(CLASSES[e]);
          continue;
        }
        lo = Object.hasOwn(CONTROL, e) ? CONTROL[e] : e.charCodeAt(0);
      } else {
        lo = c.charCodeAt(0);
      }
      let hi = lo;
      if (
        this.src[this.i] === "-" && this.src[this.i + 1] !== "]" &&
        this.i + 1 < this.src.length
      ) {
        this.i++;
        const h = this.src[this.i++];
        hi = h === "\\" ? this.src.charCodeAt(this.i++) : h.charCodeAt(0);
        if (Number.isNaN(hi) || hi < lo) throw new Syntax("bad range");
      }
      const [a, b] = [lo, hi];
      parts.push(
        this.fold
          ? (x) =>
            inRange(x, a, b) || inRange(foldCase(x), a, b) ||
            inRange(upperCase(x), a, b)
          : (x) => inRange(x, a, b),
      );
    }
    return (x) => parts.some((p) => p(x)) !== negate;
  }
}

function inRange(x: number, a: number, b: number): boolean {
  return x >= a && x <= b;
}

function foldCase(c: number): number {
  return String.fromCharCode(c).toLowerCase().charCodeAt(0);
}

function upperCase(c: number): number {
  return String.fromCharCode(c).toUpperCase().charCodeAt(0);
}

class Compiler {
  readonly prog: Inst[] = [];

  emit(inst: Inst): number {
    if (this.prog.length >= MAX_PROGRAM) throw new Syntax("pattern too large");
    this.prog.push(inst);
    return this.prog.length - 1;
  }

  node(n: Node): void {
    switch (n.t) {
      case "char":
        this.emit({ op: "char", test: n.test });
        return;
      case "bol":
      case "eol":
        this.emit({ op: n.t });
        return;
      case "cat":
        for (const item of n.items) this.node(item);
        return;
      case "alt": {
        // split L1, next; L1: a; jmp end; next: split … ; last
        const jumps: Inst[] = [];
        for (let k = 0; k < n.items.length - 1; k++) {
          const split = { op: "split", x: 0, y: 0 } as Inst & { op: "split" };
          this.emit(split);
          split.x = this.prog.length;
          this.node(n.items[k]);
          const jmp = { op: "jmp", x: 0 } as Inst & { op: "jmp" };
          this.emit(jmp);
          jumps.push(jmp);
          split.y = this.prog.length;
        }
        this.node(n.items[n.items.length - 1]);
        for (const j of jumps) (j as { x: number }).x = this.prog.length;
        return;
      }
      case "rep": {
        for (let k = 0; k < n.min; k++) this.node(n.node);
        if (n.max === Infinity) {
          const split = { op: "split", x: 0, y: 0 } as Inst & { op: "split" };
          const top = this.emit(split);
          split.x = this.prog.length;
          this.node(n.node);
          this.emit({ op: "jmp", x: top });
          split.y = this.prog.length;
          return;
        }
        const splits: (Inst & { op: "split" })[] = [];
        for (let k = n.min; k < n.max; k++) {
          const split = { op: "split", x: 0, y: 0 } as Inst & { op: "split" };
          this.emit(split);
          split.x = this.prog.length;
          splits.push(split);
          this.node(n.node);
        }
        for (const s of splits) s.y = this.prog.length;
        return;
      }
    }
  }
}

const cache = new Map<string, Inst[] | null>();

function compile(pattern: string, fold: boolean): Inst[] | null {
  const key = (fold ? "i" : "-") + pattern;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  let prog: Inst[] | null = null;
  if (pattern.length <= MAX_PATTERN) {
    try {
      const c = new Compiler();
      c.node(new Parser(pattern, fold).parse());
      c.emit({ op: "match" });
      prog = c.prog;
    } catch (e) {
      if (!(e instanceof Syntax)) throw e;
    }
  }
  if (cache.size >= CACHE_SIZE) cache.clear();
  cache.set(key, prog);
  return prog;
}

/**
 * Whether `pattern` matches somewhere in `input`; `undefined` for a bad or
 * too large pattern, or a too long input. `options` may contain `i` to
 * ignore case.
 */
export function regexpTest(
  pattern: string,
  input: string,
  options = "",
): boolean | undefined {
  if (input.length > MAX_INPUT) return undefined;
  const prog = compile(pattern, options.includes("i"));
  if (prog === null) return undefined;
  const n = prog.length;
  const seen = new Int32Array(n).fill(-1);
  let current: number[] = [];
  let next: number[] = [];
  const stack: number[] = [];
  // Adds pc and everything reachable from it without consuming input.
  const add = (
    list: number[],
    pc: number,
    pos: number,
    mark: number,
  ): boolean => {
    stack.push(pc);
    while (stack.length > 0) {
      const p = stack.pop()!;
      if (seen[p] === mark) continue;
      seen[p] = mark;
      const inst = prog[p];
      switch (inst.op) {
        case "match":
          stack.length = 0;
          return true;
        case "jmp":
          stack.push(inst.x);
          break;
        case "split":
          stack.push(inst.y, inst.x);
          break;
        case "bol":
          if (pos === 0) stack.push(p + 1);
          break;
        case "eol":
          if (pos === input.length) stack.push(p + 1);
          break;
        default:
          list.push(p);
      }
    }
    return false;
  };
  for (let pos = 0; pos <= input.length; pos++) {
    // A new attempt may start at every position (search, not full match).
    if (add(current, 0, pos, pos)) return true;
    if (pos === input.length) break;
    const c = input.charCodeAt(pos);
    next.length = 0;
    for (const pc of current) {
      const inst = prog[pc] as Inst & { op: "char" };
      if (inst.test(c) && add(next, pc + 1, pos + 1, pos + 1)) return true;
    }
    [current, next] = [next, current];
  }
  return false;
}
