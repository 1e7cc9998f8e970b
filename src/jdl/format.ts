/**
 * The canonical printer.
 *
 * @module
 */
import type { Expr } from "./ast.ts";
import type { JobDescription } from "./job_description.ts";
import { quote } from "./_position.ts";

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

/**
 * Prints `jd.attributes` as canonical JDL: one `Key = value;` line per
 * statement in the original order and spelling, single spaces around
 * operators, only the parentheses the tree needs, lists of two or more
 * items one item per line. Comments are not kept; the typed fields are not
 * consulted (they are derived from the attributes).
 *
 * `parseJdl(formatJdl(jd))` equals `jd` for any `jd` from
 * {@linkcode parseJdl}, and printing is idempotent.
 *
 * @example
 * ```ts
 * import { formatJdl, parseJdl } from "./mod.ts";
 * formatJdl(parseJdl('executable="/bin/true" ;ttl=60'));
 * // 'executable = "/bin/true";\nttl = 60;\n'
 * ```
 */
export function formatJdl(jd: JobDescription): string {
  let out = "";
  for (const { key, value } of jd.attributes) {
    out += `${key} = ${formatTop(value)};\n`;
  }
  return out;
}

function formatTop(e: Expr): string {
  if (e.kind !== "list" || e.items.length < 2) return formatExpr(e);
  return `{\n${e.items.map((item) => `  ${formatExpr(item)}`).join(",\n")}\n}`;
}

/** Prints one expression on one line. */
export function formatExpr(e: Expr): string {
  switch (e.kind) {
    case "literal":
      return typeof e.value === "string" ? quote(e.value) : String(e.value);
    case "list":
      return e.items.length === 0
        ? "{}"
        : `{ ${e.items.map(formatExpr).join(", ")} }`;
    case "ref":
      return e.scope === "other" ? `other.${e.name}` : e.name;
    case "unary": {
      const inner = formatExpr(e.operand);
      return e.operand.kind === "binary" ? `${e.op}(${inner})` : e.op + inner;
    }
    case "binary": {
      const p = PRECEDENCE[e.op];
      const left = formatExpr(e.left);
      const right = formatExpr(e.right);
      // Operators group to the left, so an equal-precedence right operand
      // needs parentheses to come back as the same tree.
      const l = e.left.kind === "binary" && PRECEDENCE[e.left.op] < p
        ? `(${left})`
        : left;
      const r = e.right.kind === "binary" && PRECEDENCE[e.right.op] <= p
        ? `(${right})`
        : right;
      return `${l} ${e.op} ${r}`;
    }
    case "call":
      return `${e.name}(${e.args.map(formatExpr).join(", ")})`;
  }
}
