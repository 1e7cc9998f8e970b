import { errorAt, show } from "./_position.ts";

/** A token; `start` is its offset in the source. */
export interface Token {
  type: "ident" | "string" | "number" | "punct" | "eof";
  /** Identifier or punctuation text, or the decoded string. */
  text: string;
  /** The numeric value of a number token. */
  num: number;
  start: number;
}

/**
 * How forgiving the lexer is. Strict is the ClassAd grammar; lenient also
 * reads what JAliEn's own reader accepts (strings spanning lines, bare
 * words such as `stdout@disk=1` inside lists) and reports each such
 * construct through `warn`.
 */
export interface LexOptions {
  /** Accept JAliEn's looser forms. @default false */
  lenient?: boolean;
  /** Receives each leniency used: source offset and a description. */
  warn?: (offset: number, message: string) => void;
}

/**
 * A bare list item JAliEn takes as a string: no spaces or quotes, and at
 * least one character that cannot be part of an expression's identifier
 * (`@`, `=`, `:`, `~`) or a glob star at either end.
 */
const BARE_WORD = /^[A-Za-z0-9_.\/*@=:~+-]+/;

function isBareWord(word: string): boolean {
  return /[@=:~]/.test(word) || word.startsWith("*") || word.endsWith("*");
}

const PUNCT1 = new Set([
  "=",
  ";",
  ",",
  "{",
  "}",
  "(",
  ")",
  ".",
  "!",
  "<",
  ">",
  "+",
  "-",
  "*",
  "/",
]);

function isIdentStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}

function isIdentPart(c: number): boolean {
  return isIdentStart(c) || (c >= 48 && c <= 57);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Describes the character at `i` for an error message. */
export function describeChar(text: string, i: number): string {
  const cp = text.codePointAt(i) ?? 0;
  if (cp > 0x20 && cp < 0x7f) {
    return `character ${show(String.fromCodePoint(cp))}`;
  }
  return `character U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** Describes a token for the `found Y` part of an error message. */
export function describeToken(t: Token): string {
  switch (t.type) {
    case "eof":
      return "end of input";
    case "ident":
      return `identifier ${show(t.text)}`;
    case "string":
      return `string ${show(t.text)}`;
    case "number":
      return `number ${t.num}`;
    case "punct":
      return `"${t.text}"`;
  }
}

/**
 * Splits JDL text into tokens, dropping whitespace and `#`, `//`, `/* *\/`
 * comments.
 */
export function tokenize(text: string, opts: LexOptions = {}): Token[] {
  const tokens: Token[] = [];
  const nul = text.indexOf("\0");
  if (nul !== -1) {
    throw errorAt(
      text,
      nul,
      "expected JDL text without NUL characters, found U+0000",
    );
  }
  // Brace depth, for bare words (only list items may be bare).
  let braces = 0;
  const n = text.length;
  // Editors on some systems start files with a byte-order mark.
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const push = (
    type: Token["type"],
    tokenText: string,
    start: number,
    num = 0,
  ) => tokens.push({ type, text: tokenText, num, start });
  while (i < n) {
    const c = text.charCodeAt(i);
    // Whitespace, including \r and form feeds.
    if (c === 32 || (c >= 9 && c <= 13)) {
      i++;
      continue;
    }
    if (c === 35 || (c === 47 && text.charCodeAt(i + 1) === 47)) { // # or //
      const nl = text.indexOf("\n", i);
      i = nl === -1 ? n : nl + 1;
      continue;
    }
    if (c === 47 && text.charCodeAt(i + 1) === 42) { // /*
      const close = text.indexOf("*/", i + 2);
      if (close === -1) {
        throw errorAt(
          text,
          i,
          'expected "*/" closing this comment, found end of input',
        );
      }
      i = close + 2;
      continue;
    }
    const start = i;
    const last = tokens[tokens.length - 1];
    if (
      opts.lenient && braces > 0 && last?.type === "punct" &&
      (last.text === "{" || last.text === ",")
    ) {
      const word = BARE_WORD.exec(text.slice(i, i + 4096))?.[0];
      const after = word === undefined ? "" : text[i + word.length] ?? "";
      if (
        word !== undefined && isBareWord(word) &&
        (after === "" || /[\s,}]/.test(after))
      ) {
        opts.warn?.(
          start,
          `bare word ${show(word)} in a list read as a string, as JAliEn does`,
        );
        push("string", word, start);
        i += word.length;
        continue;
      }
    }
    if (isIdentStart(c)) {
      i++;
      while (i < n && isIdentPart(text.charCodeAt(i))) i++;
      push("ident", text.slice(start, i), start);
      continue;
    }
    if (isDigit(c)) {
      i = scanNumber(text, i);
      const num = Number(text.slice(start, i));
      if (!Number.isFinite(num)) {
        throw errorAt(
          text,
          start,
          `expected a finite number, found ${show(text.slice(start, i))}`,
        );
      }
      push("number", text.slice(start, i), start, num);
      continue;
    }
    if (c === 34) { // "
      const [value, end] = scanString(text, i, opts);
      push("string", value, start);
      i = end;
      continue;
    }
    const two = text.slice(i, i + 2);
    if (
      two === "&&" || two === "||" || two === "==" || two === "!=" ||
      two === "<=" || two === ">="
    ) {
      push("punct", two, start);
      i += 2;
      continue;
    }
    const one = text[i];
    if (PUNCT1.has(one)) {
      if (one === "{") braces++;
      if (one === "}" && braces > 0) braces--;
      push("punct", one, start);
      i++;
      continue;
    }
    if (one === "&" || one === "|") {
      throw errorAt(text, i, `expected "${one}${one}", found "${one}"`);
    }
    throw errorAt(
      text,
      i,
      `expected a JDL token, found ${describeChar(text, i)}`,
    );
  }
  push("eof", "", n);
  return tokens;
}

function scanNumber(text: string, i: number): number {
  const n = text.length;
  while (i < n && isDigit(text.charCodeAt(i))) i++;
  if (text[i] === "." && isDigit(text.charCodeAt(i + 1))) {
    i++;
    while (i < n && isDigit(text.charCodeAt(i))) i++;
  }
  const e = text[i];
  if (e === "e" || e === "E") {
    let j = i + 1;
    if (text[j] === "+" || text[j] === "-") j++;
    if (isDigit(text.charCodeAt(j))) {
      while (j < n && isDigit(text.charCodeAt(j))) j++;
      i = j;
    }
  }
  return i;
}

/** Decodes the string literal opening at `i`; returns it and the offset after it. */
function scanString(
  text: string,
  i: number,
  opts: LexOptions,
): [string, number] {
  const open = i;
  const n = text.length;
  let out = "";
  let run = ++i;
  let lines = 1;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      if (lines > 1) {
        opts.warn?.(
          open,
          `string spans ${lines} lines, read whole as JAliEn does`,
        );
      }
      return [out + text.slice(run, i), i + 1];
    }
    if (c === 10 || c === 13) {
      if (!opts.lenient) break;
      if (c === 10) lines++;
    }
    if (c === 92) { // backslash
      out += text.slice(run, i);
      const next = text[i + 1];
      switch (next) {
        case '"':
        case "\\":
          out += next;
          break;
        case "n":
          out += "\n";
          break;
        case "r":
          out += "\r";
          break;
        case "t":
          out += "\t";
          break;
        default:
          // Unknown escapes stay as written (regular expressions need "\d").
          run = i;
          i++;
          continue;
      }
      i += 2;
      run = i;
      continue;
    }
    i++;
  }
  const found = i < n ? "end of line" : "end of input";
  throw errorAt(
    text,
    open,
    `expected '"' closing this string, found ${found}`,
  );
}
