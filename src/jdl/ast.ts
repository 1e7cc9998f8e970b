/**
 * The syntax tree of JDL values and the values they evaluate to.
 *
 * Nodes carry no source positions, so two parses of equivalent text give
 * structurally equal trees (what the round-trip guarantee is about).
 *
 * @module
 */

/** Binary operators, loosest-binding first: `||`, `&&`, equality, order, sums, products. */
export type BinaryOp =
  | "||"
  | "&&"
  | "=="
  | "!="
  | "<"
  | "<="
  | ">"
  | ">="
  | "+"
  | "-"
  | "*"
  | "/";

/** Unary operators. A minus in front of a number literal is folded into it. */
export type UnaryOp = "!" | "-";

/** Functions a JDL expression may call (names are matched case-insensitively). */
export type FunctionName = "member" | "regexp" | "isUndefined";

/** A JDL expression: every attribute value is one. */
export type Expr =
  /** A string, number (finite, never `-0`) or boolean constant. */
  | { kind: "literal"; value: string | number | boolean }
  /** `{ a, b, … }` */
  | { kind: "list"; items: Expr[] }
  /**
   * `other.Name` (scope `other`, the site's map) or a bare `Name` (scope
   * `self`, another key of the same JDL). `name` keeps its spelling.
   */
  | { kind: "ref"; scope: "other" | "self"; name: string }
  /** `!x`, `-x` */
  | { kind: "unary"; op: UnaryOp; operand: Expr }
  /** `left op right` */
  | { kind: "binary"; op: BinaryOp; left: Expr; right: Expr }
  /** `member(list, x)`, `regexp(pattern, s)`, `isUndefined(x)` */
  | { kind: "call"; name: FunctionName; args: Expr[] };

/**
 * The result of evaluating an {@linkcode Expr}. `undefined` is ClassAd's
 * UNDEFINED: a missing attribute, or an operation on mismatched types.
 */
export type Value = string | number | boolean | undefined | readonly Value[];

/** One `Key = value;` statement, with the key spelled as in the source. */
export interface JdlAttribute {
  /** The key as written (look-ups ignore case). */
  key: string;
  /** The value's syntax tree. */
  value: Expr;
}
