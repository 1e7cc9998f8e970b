import { assertEquals, assertThrows } from "@std/assert";
import { JdlError } from "./error.ts";
import { applyArguments } from "./arguments.ts";

Deno.test("arguments: $N everywhere outside comment lines, not $10 for $1", () => {
  const text = `# submit x.jdl RUN
A = "$1 $2";
B = "LF:/data/000$1/raw";
C = "$10";
`;
  const args = ["245", "LHC", "3", "4", "5", "6", "7", "8", "9", "ten"];
  assertEquals(
    applyArguments(text, args),
    `# submit x.jdl RUN
A = "245 LHC";
B = "LF:/data/000245/raw";
C = "ten";
`,
  );
});

Deno.test("arguments: a value holding $2 is not filled again", () => {
  assertEquals(applyArguments('A = "$1";', ["$2"]), 'A = "$2";');
});

Deno.test("arguments: a missing argument names $N, its line and column", () => {
  const e = assertThrows(
    () => applyArguments('A = "x";\nB = "a$3";', ["1", "2"]),
    JdlError,
  );
  assertEquals([e.line, e.column], [2, 7]);
  assertEquals(
    e.detail,
    "expected an argument for $3: the JDL uses it but 2 were given (submit FILE arg1 arg2 …)",
  );
});

Deno.test("arguments: quotes, backslashes and control characters are refused", () => {
  for (const bad of ['a"b', "a\\b", "a\nb", "a\u0000b"]) {
    assertThrows(() => applyArguments('A = "$1";', [bad]), JdlError);
  }
});
