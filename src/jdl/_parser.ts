import type { BinaryOp, Expr, FunctionName, JdlAttribute } from "./ast.ts";
import {
  describeToken,
  type LexOptions,
  type Token,
  tokenize,
} from "./_lexer.ts";
import { errorAt, locate, show } from "./_position.ts";
import type { JdlError } from "./error.ts";

/** Largest accepted input, in UTF-16 code units. */
export const MAX_INPUT = 1024 * 1024;
/**
 * Deepest accepted nesting, both of open brackets/operators in the source
 * and of the resulting tree. Equal limits keep printed text re-parsable.
 */
export const MAX_DEPTH = 64;

const PRECEDENCE: Record<string, number> = {
  "||": 1,
  "&&": 2,
  "==": 3,
  "!=": 3,
  "<": 4,
  "<=": 4,
  ">": 4,
  ">=": 4,
  "+": 5,
  "-": 5,
  "*": 6,
  "/": 6,
};

const FUNCTIONS: Record<
  string,
  { name: FunctionName; min: number; max: number; arity: string }
> = {
  member: { name: "member", min: 2, max: 2, arity: "2 arguments" },
  regexp: { name: "regexp", min: 2, max: 3, arity: "2 or 3 arguments" },
  isundefined: { name: "isUndefined", min: 1, max: 1, arity: "1 argument" },
};

/** What the parser hands on: statements plus where each node came from. */
export interface ParsedText {
  attributes: JdlAttribute[];
  /** Source offset of every node and of every statement's key. */
  offsets: Map<Expr, number>;
  keyOffsets: number[];
}

/** Parses JDL text into statements. Throws {@linkcode JdlError}. */
export function parseText(text: string, opts: LexOptions = {}): ParsedText {
  if (text.length > MAX_INPUT) {
    throw errorAt(
      text,
      0,
      `expected at most ${MAX_INPUT} characters of JDL, found ${text.length}`,
    );
  }
  return new Parser(text, opts).statements();
}

class Parser {
  readonly text: string;
  readonly tokens: Token[];
  pos = 0;
  nesting = 0;
  readonly offsets = new Map<Expr, number>();
  readonly depths = new Map<Expr, number>();
  readonly opts: LexOptions;

  constructor(text: string, opts: LexOptions) {
    this.text = text;
    this.opts = opts;
    this.tokens = tokenize(text, opts);
  }

  statements(): ParsedText {
    const attributes: JdlAttribute[] = [];
    const keyOffsets: number[] = [];
    const seen = new Map<string, number>();
    const slot = new Map<string, number>();
    while (this.peek().type !== "eof") {
      const key = this.next();
      if (key.type !== "ident") throw this.expected("a key", key);
      const lower = key.text.toLowerCase();
      const first = seen.get(lower);
      if (first !== undefined && !this.opts.lenient) {
        const { line } = locate(this.text, first);
        throw errorAt(
          this.text,
          key.start,
          `expected each key once, found ${
            show(key.text)
          } again (first on line ${line})`,
        );
      }
      if (first === undefined) seen.set(lower, key.start);
      this.expectPunct("=");
      const value = this.expression();
      const at = slot.get(lower);
      if (at !== undefined) {
        // JAliEn keeps keys in a map: a repeated key replaces the value
        // and keeps its first place.
        const { line } = locate(this.text, first!);
        this.opts.warn?.(
          key.start,
          `key ${
            show(key.text)
          } given again (first on line ${line}); the last value wins, as in JAliEn`,
        );
        attributes[at] = { key: attributes[at].key, value };
      } else {
        slot.set(lower, attributes.length);
        attributes.push({ key: key.text, value });
        keyOffsets.push(key.start);
      }
      const end = this.peek();
      if (end.type === "eof") break;
      if (!isPunct(end, ";")) throw this.expected('";"', end);
      this.pos++;
    }
    return { attributes, offsets: this.offsets, keyOffsets };
  }

  peek(): Token {
    return this.tokens[this.pos];
  }

  next(): Token {
    const t = this.tokens[this.pos];
    if (t.type !== "eof") this.pos++;
    return t;
  }

  expected(what: string, found: Token): JdlError {
    return errorAt(
      this.text,
      found.start,
      `expected ${what}, found ${describeToken(found)}`,
    );
  }

  expectPunct(p: string, what = `"${p}"`): Token {
    const t = this.next();
    if (!isPunct(t, p)) throw this.expected(what, t);
    return t;
  }

  /** Records a node; a too-deep one is reported at `at`. */
  node(e: Expr, start: number, depth: number, at = start): Expr {
    if (depth > MAX_DEPTH) {
      throw errorAt(
        this.text,
        at,
        `expected an expression at most ${MAX_DEPTH} levels deep, found a deeper one`,
      );
    }
    this.offsets.set(e, start);
    this.depths.set(e, depth);
    return e;
  }

  depth(e: Expr): number {
    return this.depths.get(e) ?? 1;
  }

  open(t: Token): void {
    if (++this.nesting > MAX_DEPTH) {
      throw errorAt(
        this.text,
        t.start,
        `expected at most ${MAX_DEPTH} nested brackets or operators, found more`,
      );
    }
  }

  expression(minPrecedence = 1): Expr {
    let left = this.unary();
    for (;;) {
      const t = this.peek();
      const p = t.type === "punct" ? PRECEDENCE[t.text] : undefined;
      if (p === undefined || p < minPrecedence) return left;
      this.pos++;
      const right = this.expression(p + 1);
      const start = this.offsets.get(left) ?? t.start;
      left = this.node(
        { kind: "binary", op: t.text as BinaryOp, left, right },
        start,
        1 + Math.max(this.depth(left), this.depth(right)),
        t.start,
      );
    }
  }

  unary(): Expr {
    const t = this.peek();
    if (!isPunct(t, "!") && !isPunct(t, "-")) return this.primary();
    this.pos++;
    this.open(t);
    const operand = this.unary();
    this.nesting--;
    if (
      t.text === "-" && operand.kind === "literal" &&
      typeof operand.value === "number"
    ) {
      // Folded so that printing "-5" and reading it back gives the same
      // tree; `|| 0` turns -0 into 0 for the same reason.
      return this.node(
        { kind: "literal", value: -operand.value || 0 },
        t.start,
        1,
      );
    }
    return this.node(
      { kind: "unary", op: t.text as "!" | "-", operand },
      t.start,
      1 + this.depth(operand),
    );
  }

  primary(): Expr {
    const t = this.next();
    switch (t.type) {
      case "number":
        return this.node({ kind: "literal", value: t.num || 0 }, t.start, 1);
      case "string":
        return this.node({ kind: "literal", value: t.text }, t.start, 1);
      case "ident":
        return this.identifier(t);
      case "punct":
        if (t.text === "(") {
          this.open(t);
          const e = this.expression();
          this.expectPunct(")", '")" or an operator');
          this.nesting--;
          return e;
        }
        if (t.text === "{") return this.list(t);
    }
    throw this.expected("a value", t);
  }

  identifier(t: Token): Expr {
    const lower = t.text.toLowerCase();
    if (lower === "true" || lower === "false") {
      return this.node(
        { kind: "literal", value: lower === "true" },
        t.start,
        1,
      );
    }
    if (lower === "other") {
      this.expectPunct(".", '"." after "other"');
      const name = this.next();
      if (name.type !== "ident") {
        throw this.expected('an attribute name after "other."', name);
      }
      return this.node(
        { kind: "ref", scope: "other", name: name.text },
        t.start,
        1,
      );
    }
    if (isPunct(this.peek(), "(")) return this.call(t, lower);
    return this.node({ kind: "ref", scope: "self", name: t.text }, t.start, 1);
  }

  call(t: Token, lower: string): Expr {
    const fn = Object.hasOwn(FUNCTIONS, lower) ? FUNCTIONS[lower] : undefined;
    if (fn === undefined) {
      throw errorAt(
        this.text,
        t.start,
        `expected a function (member, regexp, isUndefined), found ${
          show(t.text)
        }`,
      );
    }
    const paren = this.next();
    this.open(paren);
    const args: Expr[] = [];
    if (isPunct(this.peek(), ")")) {
      this.pos++;
    } else {
      for (;;) {
        args.push(this.expression());
        const sep = this.next();
        if (isPunct(sep, ")")) break;
        if (!isPunct(sep, ",")) throw this.expected('"," or ")"', sep);
      }
    }
    this.nesting--;
    if (args.length < fn.min || args.length > fn.max) {
      throw errorAt(
        this.text,
        t.start,
        `expected ${fn.arity} for ${fn.name}(), found ${args.length}`,
      );
    }
    let depth = 1;
    for (const a of args) depth = Math.max(depth, 1 + this.depth(a));
    return this.node({ kind: "call", name: fn.name, args }, t.start, depth);
  }

  list(t: Token): Expr {
    this.open(t);
    const items: Expr[] = [];
    for (;;) {
      if (isPunct(this.peek(), "}")) {
        this.pos++;
        break;
      }
      items.push(this.expression());
      const sep = this.next();
      if (isPunct(sep, "}")) break;
      if (!isPunct(sep, ",")) throw this.expected('"," or "}"', sep);
    }
    this.nesting--;
    let depth = 1;
    for (const item of items) depth = Math.max(depth, 1 + this.depth(item));
    return this.node({ kind: "list", items }, t.start, depth);
  }
}

function isPunct(t: Token, p: string): boolean {
  return t.type === "punct" && t.text === p;
}
