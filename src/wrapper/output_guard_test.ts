import { assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { checkOutput, openOutput, OutputRefused } from "./output_guard.ts";

async function sandbox(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "splitpilot-guard-" });
  await Deno.mkdir(`${dir}/sub/deeper`, { recursive: true });
  await Deno.writeTextFile(`${dir}/sub/deeper/ok.txt`, "ok");
  await Deno.writeTextFile(`${dir}/plain.txt`, "plain");
  await Deno.writeTextFile(`${dir}/linked.txt`, "linked");
  await Deno.link(`${dir}/linked.txt`, `${dir}/hl`);
  await Deno.symlink("/etc", `${dir}/d`);
  await Deno.symlink("/etc", `${dir}/sub/deeper/up`);
  await Deno.symlink(`${dir}/plain.txt`, `${dir}/alias.txt`);
  return dir;
}

Deno.test("output guard: plain files inside the sandbox pass, at any depth", async () => {
  const dir = await sandbox();
  try {
    assertEquals((await checkOutput(dir, "plain.txt")).isFile, true);
    const f = await openOutput(dir, "sub/deeper/ok.txt");
    assertEquals(
      new TextDecoder().decode(await new Response(f.readable).bytes()),
      "ok",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("output guard: symlinks at any depth, hard links and escaping names are refused with the reason", async () => {
  const dir = await sandbox();
  try {
    const cases: [string, string][] = [
      ["d/passwd", "d is a symbolic link"],
      ["sub/deeper/up/passwd", "sub/deeper/up is a symbolic link"],
      ["alias.txt", "alias.txt is a symbolic link"],
      ["hl", "2 hard links"],
      ["linked.txt", "2 hard links"],
      ["../etc/passwd", "relative path inside the sandbox"],
      ["/etc/passwd", "relative path inside the sandbox"],
      ["sub//deeper/ok.txt", "relative path inside the sandbox"],
      ["plain.txt/x", "plain.txt is not a directory"],
      ["sub", "not a regular file"],
    ];
    for (const [name, why] of cases) {
      const e = await assertRejects(
        () => checkOutput(dir, name),
        OutputRefused,
      );
      assertStringIncludes(e.message, `output ${name} refused: `);
      assertStringIncludes(e.message, why);
    }
    await assertRejects(() => checkOutput(dir, "absent"), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
