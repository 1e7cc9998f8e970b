import { assertEquals } from "@std/assert";
import { ReportOutbox } from "./report_outbox.ts";

const outcome = {
  state: "DONE",
  exitCode: 0,
  stage: "SAVING",
  startedAt: 1,
  endedAt: 2,
};

Deno.test("ReportOutbox keeps entries until removed; junk never stops it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const box = new ReportOutbox(`${dir}/outbox`);
    assertEquals(await box.list(() => {}), []);
    await box.put({ jobId: "7", attempt: 1, outcome, death: false });
    await box.put({ jobId: "8", attempt: 0, outcome, death: true });
    await Deno.writeTextFile(`${dir}/outbox/job-9.0.json`, "{torn");
    await Deno.writeTextFile(`${dir}/outbox/job-10.0.json.tmp`, "{}");
    const bad: string[] = [];
    const again = new ReportOutbox(`${dir}/outbox`);
    const got = await again.list((f) => bad.push(f));
    assertEquals(got.map((e) => [e.jobId, e.attempt, e.death]), [
      ["7", 1, false],
      ["8", 0, true],
    ]);
    assertEquals(bad, ["job-9.0.json"]);
    await again.remove("7", 1);
    await again.remove("7", 1);
    assertEquals((await again.list(() => {})).map((e) => e.jobId), ["8"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
