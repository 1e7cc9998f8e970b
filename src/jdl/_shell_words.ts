/** Why a string could not be split into words. */
export interface SplitFailure {
  /** What went wrong, for an error message. */
  problem: string;
}

/**
 * Splits `s` into words like a POSIX shell, without expansions: blanks
 * separate words, `'…'` is literal, `"…"` honours `\"`, `\\`, `\$`, `` \` ``
 * and backslash-newline, and outside quotes a backslash escapes the next
 * character (a trailing one is kept, as bash does).
 */
export function shellWords(s: string): string[] | SplitFailure {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s[i];
    if (c === " " || c === "\t" || c === "\n") {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
      continue;
    }
    inWord = true;
    if (c === "'") {
      const close = s.indexOf("'", i + 1);
      if (close === -1) {
        return { problem: `unterminated single quote at character ${i + 1}` };
      }
      word += s.slice(i + 1, close);
      i = close;
    } else if (c === '"') {
      const open = i;
      for (i++;; i++) {
        if (i >= n) {
          return {
            problem: `unterminated double quote at character ${open + 1}`,
          };
        }
        const d = s[i];
        if (d === '"') break;
        if (d === "\\" && i + 1 < n && '"\\$`\n'.includes(s[i + 1])) {
          if (s[i + 1] !== "\n") word += s[i + 1];
          i++;
        } else {
          word += d;
        }
      }
    } else if (c === "\\") {
      if (i + 1 >= n) {
        word += c;
      } else if (s[i + 1] === "\n") {
        i++;
        // A line continuation joins words rather than making an empty one.
        if (word === "") inWord = false;
      } else {
        word += s[++i];
      }
    } else {
      word += c;
    }
  }
  if (inWord) words.push(word);
  return words;
}
