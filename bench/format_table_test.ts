import { assertEquals, assertThrows } from "@std/assert";
import { BadRowError, checkRows, formatTable } from "./format_table.ts";

Deno.test("formatTable: one line per row, numbers rounded, misses bold", () => {
  const table = formatTable([
    {
      measure: "launch | none",
      ours: 72.345,
      baseline: 13.6,
      unit: "ms",
      ratio: 5.3196,
      goal: "≤ 1.5× floor",
      met: false,
      note: "n=4",
    },
    { measure: "jobs", ours: 20, unit: "jobs/s", goal: "≥ 15", met: true },
  ]);
  const lines = table.split("\n");
  assertEquals(lines.length, 4);
  assertEquals(
    lines[2],
    "| launch \\| none | 72.3 ms | 13.6 ms | 5.32× | ≤ 1.5× floor | **no** | n=4 |",
  );
  assertEquals(lines[3], "| jobs | 20 jobs/s |  |  | ≥ 15 | yes |  |");
});

Deno.test("checkRows: accepts rows, names the fault otherwise", () => {
  const ok = [{ measure: "m", ours: 1, unit: "ms" }];
  assertEquals(checkRows(ok, "x"), ok);
  assertThrows(() => checkRows({}, "x"), BadRowError, "expected an array");
  assertThrows(
    () => checkRows([{ measure: "m", ours: "1", unit: "ms" }], "x"),
    BadRowError,
    `"ours" must be a number`,
  );
  assertThrows(
    () => checkRows([{ measure: "m", ours: 1, unit: "ms", met: "yes" }], "x"),
    BadRowError,
    `"met" must be a boolean`,
  );
});
