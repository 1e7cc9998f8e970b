import { assertEquals } from "@std/assert";
import { findOnPath } from "./find_program.ts";

Deno.test("findOnPath: first file on PATH; skips relative entries and missing dirs", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/a`);
    await Deno.mkdir(`${dir}/b`);
    await Deno.writeTextFile(`${dir}/b/prog`, "");
    await Deno.writeTextFile(`${dir}/a/prog2`, "");
    assertEquals(
      findOnPath("prog", `relative:${dir}/nosuch:${dir}/a:${dir}/b`),
      `${dir}/b/prog`,
    );
    assertEquals(findOnPath("prog", `${dir}/a`), undefined);
    assertEquals(findOnPath("prog", undefined), undefined);
    assertEquals(findOnPath("/abs/prog", ""), "/abs/prog");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
