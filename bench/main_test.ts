import { assertEquals, assertGreater } from "@std/assert";
import { benchMain } from "./main.ts";

Deno.test("bench: bad flags and unknown entries are usage errors", async () => {
  assertEquals(await benchMain(["--only", "nope"]), 2);
  assertEquals(await benchMain(["--entry", "nope"]), 2);
  assertEquals(await benchMain(["--frobnicate"]), 2);
});

Deno.test("bench --json: one entry run as a child, rows parsed back", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-run",
      "--allow-net=127.0.0.1",
      "--allow-env",
      new URL("./main.ts", import.meta.url).pathname,
      "--only",
      "pipe",
      "--quick",
      "--json",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  const report = JSON.parse(new TextDecoder().decode(out.stdout));
  assertGreater(report.machine.cores, 0);
  assertEquals(report.entries.length, 1);
  const [row] = report.entries[0].rows;
  assertGreater(row.ours, 0);
  assertGreater(row.baseline, 0);
});
