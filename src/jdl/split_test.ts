import { assertEquals, assertThrows } from "@std/assert";
import { formatJdl, JdlError, parseJdl } from "./mod.ts";
import { fillPatterns, plan, subjobAttributes } from "./split.ts";

Deno.test("split: #alien_counter# and #alien_counter_0Ni# as JAliEn formats them", () => {
  assertEquals(fillPatterns("a/#alien_counter#/b", { counter: 7 }), "a/7/b");
  assertEquals(fillPatterns("#alien_counter_03i#", { counter: 7 }), "007");
  assertEquals(fillPatterns("#ALIEN_COUNTER_05i#", { counter: 123 }), "00123");
  assertEquals(
    fillPatterns("#alien_counter_03i#", { counter: 12345 }),
    "12345",
  );
});

Deno.test("split: #alienfilename# and #alienfilename/A/B/#", () => {
  const sub = {
    counter: 1,
    inputData: ["/alice/data/raw/15000245232019.100.root"],
  };
  assertEquals(
    fillPatterns("x/#alienfilename#", sub),
    "x/15000245232019.100.root",
  );
  assertEquals(
    fillPatterns("out/#alienfilename/.root//#", sub),
    "out/15000245232019.100",
  );
  // Without inputs the pattern stays as written.
  assertEquals(
    fillPatterns("#alienfilename#", { counter: 1 }),
    "#alienfilename#",
  );
});

Deno.test("split: production, file and se plans", () => {
  const jd = parseJdl(
    `Executable = "/bin/true";
InputData = {"LF:/a/1", "LF:/a/2", "LF:/a/3", "LF:/a/4", "LF:/a/5"};
Split = "se"; SplitMaxInputFileNumber = "2";`,
    { strict: false },
  );
  assertEquals(jd.split, { kind: "se", maxFiles: 2 });
  assertEquals(plan(jd.split!, jd).map((s) => s.inputData), [
    ["/a/1", "/a/2"],
    ["/a/3", "/a/4"],
    ["/a/5"],
  ]);
  assertEquals(plan({ kind: "file" }, jd).length, 5);
  assertEquals(
    plan({ kind: "production", first: 3, last: 5 }, jd).map((s) => s.counter),
    [3, 4, 5],
  );
});

Deno.test("split: a subjob's JDL drops Split, appends SplitArguments, sets MasterJobID", () => {
  const jd = parseJdl(`Executable = "/bin/echo";
Arguments = "run";
SplitArguments = {"#alien_counter_04i#", "x"};
OutputDir = "/jdoe/out/#alien_counter#";
Split = "production:1-9";
SplitMaxInputFileNumber = 3;`);
  const sub = parseJdl(
    formatJdl({
      ...jd,
      attributes: subjobAttributes(jd, "41", { counter: 9 }),
    }),
  );
  assertEquals(sub.arguments, ["run", "0009", "x"]);
  assertEquals(sub.split, undefined);
  assertEquals(
    sub.attributes.map((a) => a.key),
    ["Executable", "Arguments", "OutputDir", "MasterJobID"],
  );
  assertEquals(sub.attributes[2].value, {
    kind: "literal",
    value: "/jdoe/out/9",
  });
});

Deno.test("split: bad Split values are errors at their position", () => {
  const e = assertThrows(
    () => parseJdl('Executable = "/bin/true";\nSplit = "production:5-1";'),
    JdlError,
  );
  assertEquals([e.line, e.column], [2, 9]);
  const f = assertThrows(
    () => parseJdl('Executable = "/bin/true";\nSplit = "pfn";'),
    JdlError,
  );
  assertEquals(
    f.detail,
    'expected "production:FIRST-LAST", "file" or "se" for Split, found "pfn"',
  );
  // An unfilled argument is left for submit to fill.
  assertEquals(
    parseJdl('Executable = "/bin/true"; Split = "production:$4-$5";').split,
    undefined,
  );
});
