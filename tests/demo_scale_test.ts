/**
 * `deno task demo --scale` as a user runs it: three broker replicas on a
 * throwaway PostgreSQL, the sample jobs end as expected, and the demo says
 * which replica served what.
 */
import { assertEquals, assertMatch } from "@std/assert";
import { needsPostgres } from "./_postgres.ts";
import { ROOT } from "./_cli.ts";

Deno.test({
  name:
    "demo --scale: 3 replicas on PostgreSQL, exits 0, prints which replica served what",
  ignore: needsPostgres(),
  fn: async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["task", "--config", `${ROOT}/deno.json`, "demo", "--scale"],
      cwd: "/",
      env: { USE_CONTAINERS: "none", NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) +
      new TextDecoder().decode(out.stderr);
    assertEquals(out.code, 0, text);
    assertMatch(text, /which replica served what/);
    for (const r of ["r1", "r2", "r3"]) {
      assertMatch(
        text,
        new RegExp(`^  ${r} https://127\\.0\\.0\\.1:\\d+: \\d+ requests`, "m"),
      );
    }
    assertMatch(text, /fail\.jdl\s+ERROR_E\s+3/);
  },
});
