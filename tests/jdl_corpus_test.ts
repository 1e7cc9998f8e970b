/**
 * The corpus of real JDLs (tests/fixtures/jdl/, index.json names each
 * one's repository, path and commit): every non-template file parses the
 * way JAliEn reads it, and a template (unfilled placeholders) fails with a
 * line and column.
 */
import { assert, assertEquals, assertThrows } from "@std/assert";
import {
  formatJdl,
  JdlError,
  type JdlWarning,
  parseJdl,
} from "../src/jdl/mod.ts";

const DIR = new URL("./fixtures/jdl/", import.meta.url);

interface Entry {
  file: string;
  repo: string;
  path: string;
  commit: string;
  template: boolean;
  sha256: string;
}

const index = JSON.parse(
  await Deno.readTextFile(new URL("index.json", DIR)),
) as { files: Entry[] };

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

Deno.test("corpus: at least 30 real JDLs, each indexed with its source and stored byte for byte", async () => {
  assert(index.files.length >= 30, `only ${index.files.length} files`);
  const onDisk = [...Deno.readDirSync(DIR)].map((e) => e.name).filter((n) =>
    n !== "index.json"
  ).sort();
  assertEquals(onDisk, index.files.map((e) => e.file).sort());
  const repos = new Set(index.files.map((e) => e.repo));
  assert(repos.size >= 4, `only ${[...repos].join(", ")}`);
  for (const e of index.files) {
    assert(/^[0-9a-f]{40}$/.test(e.commit), e.file);
    assert(e.path !== "" && e.repo.includes("/"), e.file);
    const bytes = await Deno.readFile(new URL(e.file, DIR));
    assertEquals(await sha256(bytes), e.sha256, `${e.file} changed`);
  }
});

for (const e of index.files) {
  const name = `corpus: ${e.file} (${e.repo}:${e.path}) ${
    e.template ? "is a template: line/column error" : "parses"
  }`;
  Deno.test(name, async () => {
    const text = await Deno.readTextFile(new URL(e.file, DIR));
    if (e.template) {
      const err = assertThrows(
        () => parseJdl(text, { strict: false }),
        JdlError,
      );
      assert(err.line > 1 && err.column >= 1, err.message);
      assert(/^line \d+, column \d+: expected /.test(err.message));
      return;
    }
    const warnings: JdlWarning[] = [];
    const jd = parseJdl(text, { strict: false, warnings });
    for (const w of warnings) assert(w.line >= 1 && w.column >= 1);
    // The canonical form reads back to the same job description.
    const again = parseJdl(formatJdl(jd), { strict: false });
    assertEquals(again, jd);
  });
}

Deno.test("corpus: leniency is reported, and --strict refuses what it needed", async () => {
  const read = (f: string) => Deno.readTextFile(new URL(f, DIR));
  const cases: [string, RegExp][] = [
    ["aliphysics_cpass0.jdl", /key "GUIDFILE" given again/],
    ["aliphysics_rawmerge.jdl", /quoted number "100" for Price/],
    ["jaliensetup_job.jdl", /bare word "stdout@disk=1"/],
    ["aliphysics_cpass0_pass0.jdl", /empty item in the file list/],
    ["aliroot_pi0select.jdl", /TTL "18 hours" read as 64800 seconds/],
  ];
  for (const [file, re] of cases) {
    const text = await read(file);
    const warnings: JdlWarning[] = [];
    parseJdl(text, { strict: false, warnings });
    assert(warnings.some((w) => re.test(w.message)), `${file}: ${re}`);
    assertThrows(() => parseJdl(text, { strict: true }), JdlError);
  }
});

Deno.test("corpus: repeated keys: the last value wins in the first key's place", () => {
  const jd = parseJdl(
    'Executable = "/bin/true"; GUIDFILE = "a"; TTL = 5; guidfile = "b";',
    { strict: false },
  );
  assertEquals(jd.attributes.map((a) => a.key), [
    "Executable",
    "GUIDFILE",
    "TTL",
  ]);
  assertEquals(jd.attributes[1].value, { kind: "literal", value: "b" });
});

Deno.test("corpus: a string spanning lines with ; and [ ] is one value (lenient), an error (strict)", () => {
  const text =
    'Executable = "/bin/true";\nJobtag = {"comment: a; b [x]\n  c; [y]"};\nTTL = 60;\n';
  const warnings: JdlWarning[] = [];
  const jd = parseJdl(text, { strict: false, warnings });
  assertEquals(jd.ttl, 60);
  assertEquals(warnings[0].line, 2);
  assertEquals(warnings[0].column, 11);
  const err = assertThrows(() => parseJdl(text), JdlError);
  assertEquals([err.line, err.column], [2, 11]);
});
