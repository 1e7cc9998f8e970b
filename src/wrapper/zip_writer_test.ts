import { assertEquals, assertStringIncludes } from "@std/assert";
import { crc32, writeZip } from "./zip_writer.ts";
import { needs } from "../../tests/_grid.ts";

Deno.test("crc32 of a known string", () => {
  assertEquals(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  // Incremental update equals one pass.
  const a = new TextEncoder().encode("12345");
  const b = new TextEncoder().encode("6789");
  assertEquals(crc32(b, crc32(a)), 0xcbf43926);
});

Deno.test({
  name: "writeZip output is read back by unzip with the same contents",
  ignore: needs("unzip"),
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeTextFile(`${dir}/stdout`, "hello\n".repeat(1000));
      await Deno.writeFile(
        `${dir}/bin`,
        crypto.getRandomValues(new Uint8Array(50000)),
      );
      await Deno.writeTextFile(`${dir}/empty`, "");
      const r = await writeZip(`${dir}/a.zip`, [
        { name: "stdout", path: `${dir}/stdout` },
        { name: "bin", path: `${dir}/bin` },
        { name: "empty", path: `${dir}/empty` },
      ]);
      assertEquals(r.entries, 3);
      const t = await new Deno.Command("unzip", {
        args: ["-t", `${dir}/a.zip`],
      }).output();
      assertStringIncludes(
        new TextDecoder().decode(t.stdout),
        "No errors detected",
      );
      await Deno.mkdir(`${dir}/x`);
      const x = await new Deno.Command("unzip", {
        args: ["-q", `${dir}/a.zip`, "-d", `${dir}/x`],
      }).output();
      assertEquals(x.code, 0);
      for (const n of ["stdout", "bin", "empty"]) {
        assertEquals(
          await Deno.readFile(`${dir}/x/${n}`),
          await Deno.readFile(`${dir}/${n}`),
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
