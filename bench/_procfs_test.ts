import { assertEquals, assertGreater } from "@std/assert";
import { descendants, parsePs, processTable } from "./_procfs.ts";

Deno.test("parsePs and descendants on a fixed table", () => {
  const table = parsePs(
    [
      "    1     0  1000 /sbin/init",
      "   10     1  2000 deno run agent.ts --cores 2",
      "   11    10   300 /usr/bin/bwrap --unshare-all -- deno",
      "   12    11   400 /usr/bin/bwrap --unshare-all -- deno",
      "   13    12 50000 /opt/splitpilot/deno run wrapper.ts",
      "   20     1   100 sleep 5",
      "garbage",
    ].join("\n"),
  );
  assertEquals(table.length, 6);
  assertEquals(table[1], {
    pid: 10,
    ppid: 1,
    rssKib: 2000,
    args: "deno run agent.ts --cores 2",
  });
  assertEquals(descendants(table, 10).map((p) => p.pid), [11, 12, 13]);
  assertEquals(descendants(table, 20), []);
});

Deno.test("processTable sees a child we started, with its RSS", async () => {
  const child = new Deno.Command("sleep", { args: ["5"] }).spawn();
  try {
    const me = (await processTable()).find((p) => p.pid === child.pid);
    assertEquals(me?.args.endsWith("sleep 5"), true);
    assertGreater(me!.rssKib, 0);
  } finally {
    child.kill();
    await child.status;
  }
});
