import { assertEquals, assertStrictEquals } from "@std/assert";
import { formatJdl, parseJdl } from "./mod.ts";

function roundTrips(text: string): string {
  const jd = parseJdl(text);
  const printed = formatJdl(jd);
  assertEquals(parseJdl(printed), jd, printed);
  assertStrictEquals(formatJdl(parseJdl(printed)), printed);
  return printed;
}

Deno.test("formatJdl() prints canonical spacing, quoting and lists", () => {
  const printed = roundTrips(
    [
      "executable=\"/bin/sh\" ;Arguments='x' # no: that is not a string",
    ].join("\n").replace(
      "'x' # no: that is not a string",
      '"-c \\"echo \\\\\\"hi\\\\\\"\\""',
    ),
  );
  assertEquals(
    printed,
    'executable = "/bin/sh";\nArguments = "-c \\"echo \\\\\\"hi\\\\\\"\\"";\n',
  );
  assertEquals(
    roundTrips(
      'Executable="/x";InputFile={"LF:/a","LF:/b",};Packages={"p"};E={};' +
        'N = {1,{2,3}}; T = "tab\there\\nnewline";',
    ),
    [
      'Executable = "/x";',
      "InputFile = {",
      '  "LF:/a",',
      '  "LF:/b"',
      "};",
      'Packages = { "p" };',
      "E = {};",
      "N = {",
      "  1,",
      "  { 2, 3 }",
      "};",
      'T = "tab\\there\\nnewline";',
      "",
    ].join("\n"),
  );
});

Deno.test("formatJdl() prints only the parentheses the tree needs", () => {
  const cases: [string, string][] = [
    ["(a && b) && c", "a && b && c"],
    ["a && (b && c)", "a && (b && c)"],
    ["(a || b) && c", "(a || b) && c"],
    ["a || (b && c)", "a || b && c"],
    ["(1 - 2) - 3", "1 - 2 - 3"],
    ["1 - (2 - 3)", "1 - (2 - 3)"],
    ["(1 + 2) * 3", "(1 + 2) * 3"],
    ["1 + (2 * 3)", "1 + 2 * 3"],
    ["!(a == b)", "!(a == b)"],
    ["!!a", "!!a"],
    ["- -x", "--x"],
    ["-(5)", "-5"],
    ["-(-5)", "5"],
    ["2 * -3", "2 * -3"],
    ["a - -b", "a - -b"],
    ["-(a + 1)", "-(a + 1)"],
    ["(((other.CE)))", "other.CE"],
    ['OTHER.ce == "x"', 'other.ce == "x"'],
    ['Member ( other.Packages , "p" )', 'member(other.Packages, "p")'],
    ["ISUNDEFINED(x)", "isUndefined(x)"],
    ["TRUE && False", "true && false"],
    ["1e21 + 0.5 + 1E-7", "1e+21 + 0.5 + 1e-7"],
    ["-0", "0"],
    ["(1 < 2) == (3 >= 4)", "1 < 2 == 3 >= 4"],
    ["1 < (2 == 3)", "1 < (2 == 3)"],
  ];
  for (const [source, canonical] of cases) {
    const printed = roundTrips(`Executable = "/x"; R = ${source};`);
    assertEquals(printed, `Executable = "/x";\nR = ${canonical};\n`, source);
  }
});

Deno.test("formatJdl() round-trips realistic JDLs", () => {
  const jdls = [
    `
    Executable = "/alice/cern.ch/user/a/aliprod/bin/aliroot_new";
    Arguments = "--run 12345 --config 'sim.C(\\"pp\\", 13600)'";
    InputFile = {"LF:/alice/sim/sim.C", "LF:/alice/sim/rec.C"};
    OutputArchive = {"log_archive.zip:std*,*.log@disk=1", "root_archive.zip:*.root@disk=2"};
    OutputFile = {"out.root@disk=2,ALICE::CERN::EOS", "histos.txt"};
    TTL = "72000"; MemorySize = {"8GB"}; CPUCores = 8; Price = 1.5;
    Requirements = ( other.TTL > 72000 ) && ( other.Price <= 1 ) &&
      member(other.Packages, "VO_ALICE@AliPhysics::vAN-20240101-1") &&
      ( other.CE == "ALICE::CERN::Pilot" || other.CE == "ALICE::GSI::Pilot" ) &&
      !isUndefined(other.Memory) && other.Memory / 1024 >= 4 * 1024 * 1024;
    Extra = { "x", 1, true, { other.A, -B } }
    `,
    'Executable = "/bin/true"',
    '// nothing but the executable\nexecutable = "/x";\n',
  ];
  for (const jdl of jdls) roundTrips(jdl);
});

Deno.test("formatJdl() is idempotent at the deepest allowed nesting", () => {
  const right = Array.from({ length: 63 }, (_, i) => `a${i}`).reduceRight(
    (acc, name) => `${name} && (${acc})`,
    "z",
  );
  roundTrips(`Executable = "/x"; R = ${right};`);
  const left = Array.from({ length: 64 }, (_, i) => `a${i}`).join(" + ");
  roundTrips(`Executable = "/x"; R = ${left};`);
  roundTrips(`Executable = "/x"; R = ${"{".repeat(63)}-1${"}".repeat(63)};`);
  roundTrips(`Executable = "/x"; R = ${"!".repeat(62)}-x;`);
});
