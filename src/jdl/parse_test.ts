import { assertEquals, assertStrictEquals } from "@std/assert";
import { parseJdl } from "./mod.ts";

const PRODUCTION = `
# An ALICE production job, roughly as the LPM writes them.
User = "aliprod";
JobTag = {"comment:LHC24a1 anchored to LHC23zzh, pass4"};
Packages = {
  "VO_ALICE@AliPhysics::vAN-20240101-1",
  "VO_ALICE@jemalloc::v3.6.0"
};
Executable = "/alice/cern.ch/user/a/aliprod/bin/aliroot_new";
Arguments = "--run 12345 --event 0 --config 'sim.C(\\"pp\\", 13600)' -n 200";
InputFile = {
  "LF:/alice/sim/2024/LHC24a1/sim.C",
  "LF:/alice/sim/2024/LHC24a1/rec.C", // trailing comma below is fine
};
InputData = "lf:/alice/data/2023/LHC23zzh/000544013/raw/23000544013001.10.root";
OutputArchive = {
  "log_archive.zip:std*,*.log,stdout,stderr@disk=1",
  "root_archive.zip:AliESDs.root,AliAOD.root,*.stat@disk=2"
};
OutputFile = {"AnalysisResults.root@disk=2,ALICE::CERN::EOS", "histos.txt"};
TTL = "72000";
Price = 1;
MemorySize = "8GB";
WorkDirectorySize = {"5000MB"};
CPUCores = 8;
MaxWaitingTime = "2d";
ValidationCommand = "/alice/validation/validation.sh";
JDLVariables = {"Packages", "OutputDir", "CPUCores"};
OutputDir = "/alice/sim/2024/LHC24a1/544013/001";
Requirements = ( other.TTL > 72000 ) && ( other.Price <= 1 ) &&
  member(other.Packages, "VO_ALICE@AliPhysics::vAN-20240101-1");
/* Site preferences are advisory. */
Priority = -2
`;

Deno.test("parseJdl() reads a realistic production JDL", () => {
  const jd = parseJdl(PRODUCTION);
  assertEquals(jd.user, "aliprod");
  assertEquals(jd.packages, [
    "VO_ALICE@AliPhysics::vAN-20240101-1",
    "VO_ALICE@jemalloc::v3.6.0",
  ]);
  assertEquals(jd.executable, "/alice/cern.ch/user/a/aliprod/bin/aliroot_new");
  assertEquals(jd.arguments, [
    "--run",
    "12345",
    "--event",
    "0",
    "--config",
    'sim.C("pp", 13600)',
    "-n",
    "200",
  ]);
  assertEquals(jd.inputFile, [
    "/alice/sim/2024/LHC24a1/sim.C",
    "/alice/sim/2024/LHC24a1/rec.C",
  ]);
  assertEquals(jd.inputData, [
    "/alice/data/2023/LHC23zzh/000544013/raw/23000544013001.10.root",
  ]);
  assertEquals(jd.outputArchive, [
    {
      archive: "log_archive.zip",
      patterns: ["std*", "*.log", "stdout", "stderr"],
      options: { disk: "1" },
    },
    {
      archive: "root_archive.zip",
      patterns: ["AliESDs.root", "AliAOD.root", "*.stat"],
      options: { disk: "2" },
    },
  ]);
  assertEquals(jd.outputFile, [
    {
      name: "AnalysisResults.root",
      options: { disk: "2", "ALICE::CERN::EOS": "" },
    },
    { name: "histos.txt", options: {} },
  ]);
  assertStrictEquals(jd.ttl, 72000);
  assertStrictEquals(jd.price, 1);
  assertStrictEquals(jd.memorySize, 8 * 2 ** 30);
  assertStrictEquals(jd.workDirectorySize, 5000 * 2 ** 20);
  assertStrictEquals(jd.cpuCores, 8);
  assertStrictEquals(jd.maxWaitingTime, 2 * 86400);
  assertEquals(jd.validationCommand, "/alice/validation/validation.sh");
  assertEquals(jd.jdlVariables, ["Packages", "OutputDir", "CPUCores"]);
  assertStrictEquals(jd.priority, -2);
  assertEquals(jd.requirements?.kind, "binary");
  assertEquals(jd.attributes.map((a) => a.key), [
    "User",
    "JobTag",
    "Packages",
    "Executable",
    "Arguments",
    "InputFile",
    "InputData",
    "OutputArchive",
    "OutputFile",
    "TTL",
    "Price",
    "MemorySize",
    "WorkDirectorySize",
    "CPUCores",
    "MaxWaitingTime",
    "ValidationCommand",
    "JDLVariables",
    "OutputDir",
    "Requirements",
    "Priority",
  ]);
  // Unknown keys are kept as values.
  assertEquals(jd.attributes[17].value, {
    kind: "literal",
    value: "/alice/sim/2024/LHC24a1/544013/001",
  });
});

Deno.test("parseJdl() reads a user analysis JDL with a sandboxed script", () => {
  const jd = parseJdl(`
    executable = "run.sh";
    INPUTFILE = {"LF:/alice/cern.ch/user/j/jdoe/ana/run.sh", "LF:/alice/cern.ch/user/j/jdoe/ana/AddTask.C"};
    inputdata = {"LF:/alice/data/a.root,nodownload"};
    OutputFile = {"AnalysisResults.root"};
    Container = "alice/el9:2024-01";
    ttl = 3 * 3600;
    memorysize = 2000;
    Requirements = other.CE == "ALICE::GSI::Pilot" || other.CE == "ALICE::FZK::Pilot";
  `);
  assertEquals(jd.executable, "run.sh");
  assertEquals(jd.inputData, ["/alice/data/a.root,nodownload"]);
  assertEquals(jd.container, "alice/el9:2024-01");
  assertStrictEquals(jd.ttl, 10800);
  assertStrictEquals(jd.memorySize, 2000 * 2 ** 20);
  assertEquals(jd.attributes[0].key, "executable");
});

Deno.test("parseJdl() fills defaults and leaves optional fields out", () => {
  const jd = parseJdl('Executable = "/bin/true"');
  assertEquals(jd, {
    executable: "/bin/true",
    arguments: [],
    inputFile: [],
    inputData: [],
    outputFile: [],
    outputArchive: [],
    ttl: 3600,
    cpuCores: 1,
    packages: [],
    jdlVariables: [],
    priority: 0,
    attributes: [{
      key: "Executable",
      value: { kind: "literal", value: "/bin/true" },
    }],
  });
});

Deno.test("parseJdl() handles comments, escapes and literals", () => {
  const jd = parseJdl(
    [
      "// line comment",
      '# hash comment\nExecutable /* inline */ = "/bin/sh"; # after',
      'S = "q\\"uote \\\\ back \\d tab\\t nl\\n";',
      "N = { 1, 2.5, 1e3, -4, - 0, TRUE, False, {} };",
    ].join("\n"),
  );
  assertEquals(jd.attributes[1].value, {
    kind: "literal",
    value: 'q"uote \\ back \\d tab\t nl\n',
  });
  assertEquals(jd.attributes[2].value, {
    kind: "list",
    items: [1, 2.5, 1000, -4, 0, true, false].map((value) => ({
      kind: "literal" as const,
      value,
    })).concat([{ kind: "list", items: [] }] as never[]),
  });
});

Deno.test("parseJdl() builds expression trees with precedence", () => {
  const jd = parseJdl(
    'Executable = "/x"; R = !a || other.b == 1 + 2 * 3 && member(c, "x");',
  );
  const ref = (scope: "self" | "other", name: string) => ({
    kind: "ref",
    scope,
    name,
  });
  const lit = (value: number | string) => ({ kind: "literal", value });
  assertEquals(jd.attributes[1].value, {
    kind: "binary",
    op: "||",
    left: { kind: "unary", op: "!", operand: ref("self", "a") },
    right: {
      kind: "binary",
      op: "&&",
      left: {
        kind: "binary",
        op: "==",
        left: ref("other", "b"),
        right: {
          kind: "binary",
          op: "+",
          left: lit(1),
          right: { kind: "binary", op: "*", left: lit(2), right: lit(3) },
        },
      },
      right: {
        kind: "call",
        name: "member",
        args: [ref("self", "c"), lit("x")],
      },
    },
  } as unknown);
});

Deno.test("parseJdl() splits Arguments like a POSIX shell", () => {
  const cases: [string, string[]][] = [
    ["", []],
    ["  a   b\tc ", ["a", "b", "c"]],
    [`'a b' "c d" e\\ f`, ["a b", "c d", "e f"]],
    [`"x\\"y" 'it'\\''s' ""`, ['x"y', "it's", ""]],
    [`"\\$HOME \\a" a\\`, ["$HOME \\a", "a\\"]],
    [`a"b"'c'd`, ["abcd"]],
    ['a\\\nb \\\nc "d\\\ne"', ["ab", "c", "de"]],
  ];
  for (const [args, words] of cases) {
    const jdl = `Executable = "/bin/sh"; Arguments = ${JSON.stringify(args)};`;
    assertEquals(parseJdl(jdl).arguments, words, args);
  }
  assertEquals(
    parseJdl('Executable = "/bin/sh"; Arguments = {"a b", "c"};').arguments,
    ["a b", "c"],
  );
});

Deno.test("parseJdl() reads sizes and durations in their ALICE forms", () => {
  const size = (v: string) =>
    parseJdl(`Executable = "/x"; MemorySize = ${v};`).memorySize;
  assertStrictEquals(size("512"), 512 * 2 ** 20);
  assertStrictEquals(size("1.5"), 1.5 * 2 ** 20);
  assertStrictEquals(size('"8GB"'), 8 * 2 ** 30);
  assertStrictEquals(size('"8 gb"'), 8 * 2 ** 30);
  assertStrictEquals(size('"500MB"'), 500 * 2 ** 20);
  assertStrictEquals(size('"2000KB"'), 2000 * 1024);
  assertStrictEquals(size('"100B"'), 100);
  assertStrictEquals(size('"1T"'), 2 ** 40);
  assertStrictEquals(size('"64"'), 64 * 2 ** 20);
  assertStrictEquals(size('{"5000MB"}'), 5000 * 2 ** 20);
  const wait = (v: string) =>
    parseJdl(`Executable = "/x"; MaxWaitingTime = ${v};`).maxWaitingTime;
  assertStrictEquals(wait("600"), 600);
  assertStrictEquals(wait('"90"'), 90);
  assertStrictEquals(wait('"45s"'), 45);
  assertStrictEquals(wait('"30m"'), 1800);
  assertStrictEquals(wait('"1.5h"'), 5400);
  assertStrictEquals(wait('"2D"'), 172800);
});

Deno.test("parseJdl() evaluates known keys through references", () => {
  const jd = parseJdl(
    'Executable = "/x"; Hours = 5; TTL = Hours * 3600; CPUCores = "4";',
  );
  assertStrictEquals(jd.ttl, 18000);
  assertStrictEquals(jd.cpuCores, 4);
});

Deno.test("parseJdl() treats a single string as a one-item list", () => {
  const jd = parseJdl(
    'Executable = "/x"; InputFile = "LF:/a/b"; Packages = "VO_ALICE@ROOT::v6";',
  );
  assertEquals(jd.inputFile, ["/a/b"]);
  assertEquals(jd.packages, ["VO_ALICE@ROOT::v6"]);
});

Deno.test("parseJdl() keeps an option named __proto__ as plain data", () => {
  const jd = parseJdl(
    'Executable = "/x"; OutputFile = {"a@__proto__=1"};',
  );
  const options = jd.outputFile[0].options;
  assertStrictEquals(Object.getPrototypeOf(options), Object.prototype);
  assertEquals(Object.keys(options), ["__proto__"]);
});

Deno.test("parseJdl() skips a leading byte-order mark", () => {
  assertEquals(parseJdl('\ufeffExecutable = "/x";').executable, "/x");
});
