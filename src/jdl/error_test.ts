import { assertEquals, assertInstanceOf, fail } from "@std/assert";
import { JdlError, parseJdl } from "./mod.ts";

const E = 'Executable = "/bin/sh";\n';

/** [JDL, line, column, detail] */
const CASES: [string, number, number, string][] = [
  // Syntax.
  ["", 1, 1, 'expected an "Executable" key, found none'],
  ["# only a comment\n", 1, 1, 'expected an "Executable" key, found none'],
  [
    'Executable = "/bin/sh"\nArguments = "x"',
    2,
    1,
    'expected ";", found identifier "Arguments"',
  ],
  ['Executable = "/bin/sh";;', 1, 24, 'expected a key, found ";"'],
  ['= "/bin/sh"', 1, 1, 'expected a key, found "="'],
  ['Executable "/bin/sh"', 1, 12, 'expected "=", found string "/bin/sh"'],
  ["Executable = ;", 1, 14, 'expected a value, found ";"'],
  ["Executable =", 1, 13, "expected a value, found end of input"],
  [
    'Executable = "/bin/sh',
    1,
    14,
    `expected '"' closing this string, found end of input`,
  ],
  [
    'Executable = "/bin/sh\n";',
    1,
    14,
    `expected '"' closing this string, found end of line`,
  ],
  [
    E + "/* open comment",
    2,
    1,
    'expected "*/" closing this comment, found end of input',
  ],
  [E + "X = 1 & 2;", 2, 7, 'expected "&&", found "&"'],
  [E + "X = 1 | 2;", 2, 7, 'expected "||", found "|"'],
  [E + "X = @;", 2, 5, 'expected a JDL token, found character "@"'],
  [
    E + "X = 1\u0000;",
    2,
    6,
    "expected JDL text without NUL characters, found U+0000",
  ],
  [E + "X = \u00e9;", 2, 5, "expected a JDL token, found character U+00E9"],
  [E + "X = 1e999;", 2, 5, 'expected a finite number, found "1e999"'],
  [E + "X = (1 + 2;", 2, 11, 'expected ")" or an operator, found ";"'],
  [E + "X = {1, 2;", 2, 10, 'expected "," or "}", found ";"'],
  [E + "X = {,};", 2, 6, 'expected a value, found ","'],
  [E + "X = other;", 2, 10, 'expected "." after "other", found ";"'],
  [
    E + "X = other.5;",
    2,
    11,
    'expected an attribute name after "other.", found number 5',
  ],
  [
    E + "X = foo(1);",
    2,
    5,
    'expected a function (member, regexp, isUndefined), found "foo"',
  ],
  [E + "X = member(1);", 2, 5, "expected 2 arguments for member(), found 1"],
  [
    E + "X = isUndefined();",
    2,
    5,
    "expected 1 argument for isUndefined(), found 0",
  ],
  [
    E + 'X = regexp("a", "b", "i", 1);',
    2,
    5,
    "expected 2 or 3 arguments for regexp(), found 4",
  ],
  [E + "X = member(1, 2;", 2, 16, 'expected "," or ")", found ";"'],
  [
    E + 'executable = "/x";',
    2,
    1,
    'expected each key once, found "executable" again (first on line 1)',
  ],
  [E + "X = 8GB;", 2, 6, 'expected ";", found identifier "GB"'],
  [
    E + "X = \u{1F600} 1;",
    2,
    5,
    "expected a JDL token, found character U+1F600",
  ],
  [E + 'X = "\u{1F600}" ~;', 2, 9, 'expected a JDL token, found character "~"'],
  // Limits.
  [
    E + "X = " + "(".repeat(70) + "1" + ")".repeat(70) + ";",
    2,
    69,
    "expected at most 64 nested brackets or operators, found more",
  ],
  [
    E + "X = " + "!".repeat(65) + "true;",
    2,
    69,
    "expected at most 64 nested brackets or operators, found more",
  ],
  [
    E + "X = " + Array(70).fill("a").join(" && ") + ";",
    2,
    322,
    "expected an expression at most 64 levels deep, found a deeper one",
  ],
  [
    "X".repeat(1024 * 1024 + 1),
    1,
    1,
    "expected at most 1048576 characters of JDL, found 1048577",
  ],
  // Typed fields.
  [
    "Executable = 5;",
    1,
    14,
    "expected a string for Executable, found number 5",
  ],
  ['Executable = "";', 1, 14, 'expected a program for Executable, found ""'],
  [
    'Executable = "run.sh";',
    1,
    14,
    'expected an absolute path or the name of an InputFile for Executable, found "run.sh"',
  ],
  [
    E + 'Arguments = "a \'b";',
    2,
    13,
    "expected shell words in Arguments, found an unterminated single quote at character 3",
  ],
  [
    E + 'Arguments = "a \\"b";',
    2,
    13,
    "expected shell words in Arguments, found an unterminated double quote at character 3",
  ],
  [
    E + "Arguments = 5;",
    2,
    13,
    "expected a string for Arguments, found number 5",
  ],
  [
    E + 'InputFile = {"LF:relative/x"};',
    2,
    14,
    'expected an absolute logical file name in InputFile, found "LF:relative/x"',
  ],
  [
    E + 'InputFile = {"/a/ok", "/a/../b"};',
    2,
    23,
    'expected a file name without ".." segments in InputFile, found "/a/../b"',
  ],
  [
    E + 'InputData = "LF:/a/\u0000";',
    2,
    20,
    "expected JDL text without NUL characters, found U+0000",
  ],
  [
    E + 'InputData = "LF:/a/\\n";',
    2,
    13,
    'expected a value without control characters in InputData, found "LF:/a/\\n"',
  ],
  [
    E + 'InputFile = {"/a", 5};',
    2,
    20,
    "expected a list of strings for InputFile, found number 5",
  ],
  [
    E + "InputFile = 5;",
    2,
    13,
    "expected a list of strings for InputFile, found number 5",
  ],
  [
    E + 'OutputFile = {"/abs"};',
    2,
    15,
    'expected a relative file name in OutputFile, found "/abs"',
  ],
  [
    E + 'OutputFile = {"a/../b"};',
    2,
    15,
    'expected a file name without ".." segments in OutputFile, found "a/../b"',
  ],
  [
    E + 'OutputFile = {"x.zip:*.root"};',
    2,
    15,
    'expected a file name in OutputFile (archives go in OutputArchive), found "x.zip:*.root"',
  ],
  [
    E + 'OutputFile = {"x@"};',
    2,
    15,
    'expected options after "@" in OutputFile, found "x@"',
  ],
  [
    E + 'OutputFile = {"x@disk=1,DISK=2"};',
    2,
    15,
    'expected each option once in OutputFile, found "disk" twice in "x@disk=1,DISK=2"',
  ],
  [
    E + 'OutputFile = {"x@=1"};',
    2,
    15,
    'expected an option name in OutputFile, found "x@=1"',
  ],
  [
    E + 'OutputFile = {"@disk=1"};',
    2,
    15,
    'expected a file name in OutputFile, found "@disk=1"',
  ],
  [
    E + 'OutputArchive = {"x.zip"};',
    2,
    18,
    'expected "archive:pattern,…" in OutputArchive, found "x.zip"',
  ],
  [
    E + 'OutputArchive = {"x.zip:"};',
    2,
    18,
    'expected a file name in OutputArchive, found "x.zip:"',
  ],
  [
    E + 'OutputArchive = {"x.zip:a,,b"};',
    2,
    18,
    'expected a file name in OutputArchive, found "x.zip:a,,b"',
  ],
  [
    E + 'OutputArchive = {"../x.zip:a"};',
    2,
    18,
    'expected a file name without ".." segments in OutputArchive, found "../x.zip:a"',
  ],
  [
    E + "TTL = -5;",
    2,
    7,
    "expected a positive whole number for TTL, found number -5",
  ],
  [
    E + "TTL = 0;",
    2,
    7,
    "expected a positive whole number for TTL, found number 0",
  ],
  [
    E + "TTL = 1.5;",
    2,
    7,
    "expected a positive whole number for TTL, found number 1.5",
  ],
  [
    E + 'TTL = "abc";',
    2,
    7,
    'expected a positive whole number for TTL, found string "abc"',
  ],
  [
    E + "TTL = other.TTL;",
    2,
    7,
    "expected a positive whole number for TTL, found undefined (a missing key or a bad expression)",
  ],
  [
    E + "TTL = 1 / 0;",
    2,
    7,
    "expected a positive whole number for TTL, found undefined (a missing key or a bad expression)",
  ],
  [
    E + "CPUCores = 0;",
    2,
    12,
    "expected a positive whole number for CPUCores, found number 0",
  ],
  [
    E + 'Priority = "x";',
    2,
    12,
    'expected a whole number for Priority, found string "x"',
  ],
  [
    E + 'MemorySize = "8XB";',
    2,
    14,
    'expected a size (MB, or a string such as "8GB") for MemorySize, found string "8XB"',
  ],
  [
    E + "MemorySize = 0;",
    2,
    14,
    'expected a size (MB, or a string such as "8GB") for MemorySize, found number 0',
  ],
  [
    E + 'MemorySize = {"1GB", "2GB"};',
    2,
    14,
    'expected a size (MB, or a string such as "8GB") for MemorySize, found a list of 2 items',
  ],
  [
    E + "WorkDirectorySize = true;",
    2,
    21,
    'expected a size (MB, or a string such as "8GB") for WorkDirectorySize, found boolean true',
  ],
  [
    E + 'MaxWaitingTime = "2w";',
    2,
    18,
    'expected a duration (seconds, or a string such as "2h") for MaxWaitingTime, found string "2w"',
  ],
  [
    E + "Price = -1;",
    2,
    9,
    "expected a number of at least 0 for Price, found number -1",
  ],
  [
    E + "User = {};",
    2,
    8,
    "expected a string for User, found a list of 0 items",
  ],
  [
    E + "Container = 3;",
    2,
    13,
    "expected a string for Container, found number 3",
  ],
  [
    E + 'Packages = {"a", 1};',
    2,
    18,
    "expected a list of strings for Packages, found number 1",
  ],
  [
    E + "JDLVariables = true;",
    2,
    16,
    "expected a list of strings for JDLVariables, found boolean true",
  ],
  [
    E + "ValidationCommand = {};",
    2,
    21,
    "expected a string for ValidationCommand, found a list of 0 items",
  ],
];

Deno.test("parseJdl() reports every error at its line and column", () => {
  for (const [text, line, column, detail] of CASES) {
    let error: unknown;
    try {
      parseJdl(text);
    } catch (e) {
      error = e;
    }
    if (error === undefined) {
      fail(`no error for ${JSON.stringify(text.slice(0, 80))}`);
    }
    assertInstanceOf(error, JdlError);
    assertEquals(error.name, "JdlError");
    assertEquals(
      [error.line, error.column, error.message],
      [line, column, `line ${line}, column ${column}: ${detail}`],
      JSON.stringify(text.slice(0, 80)),
    );
    assertEquals(error.detail, detail);
  }
});

Deno.test("parseJdl() rejects non-string input with a JdlError", () => {
  let error: unknown;
  try {
    parseJdl(42 as unknown as string);
  } catch (e) {
    error = e;
  }
  assertInstanceOf(error, JdlError);
  assertEquals(
    error.message,
    "line 1, column 1: expected JDL text, found number",
  );
});

Deno.test("JdlError counts columns in code points and lines after CRLF", () => {
  let error: unknown;
  try {
    parseJdl('Executable = "/x";\r\nU = "\u{1F600}\u{1F600}" @;');
  } catch (e) {
    error = e;
  }
  assertInstanceOf(error, JdlError);
  assertEquals([error.line, error.column], [2, 10]);
});
