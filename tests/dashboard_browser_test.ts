/**
 * The dashboard in a real browser (the system's headless Chromium over the
 * DevTools protocol), against a real broker and a real agent: jobs appear
 * and reach DONE live (no reload), a job's detail shows its trace and live
 * log, and the Kill button kills a running job. The page's screenshot is
 * saved to `test-artifacts/dashboard.png`.
 */
import { assert, assertEquals } from "@std/assert";
import { startDashboard } from "../src/dashboard/server.ts";
import { launchChromium, needsChromium } from "./_browser.ts";
import { needs, startGrid } from "./_grid.ts";

const ROOT = new URL("../", import.meta.url).pathname;

Deno.test({
  name:
    "dashboard: live job table, detail with trace and log, kill from the page (real Chromium)",
  ignore: needsChromium() || needs("bwrap"),
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const grid = await startGrid();
    const dashboard = await startDashboard({
      client: grid.user,
      listen: "127.0.0.1:0",
      pollMs: 300,
    });
    const browser = await launchChromium();
    let agent: ReturnType<typeof grid.runAgent> | undefined;
    try {
      // Without the session key: refused.
      const bare = new URL(dashboard.url);
      bare.search = "";
      const refused = await fetch(bare);
      assertEquals(refused.status, 401);
      await refused.body?.cancel();

      await browser.goto(dashboard.url);
      await browser.waitFor(
        `document.getElementById("status").textContent.startsWith("live")`,
        "the event stream",
      );
      const quick: string[] = [];
      for (let i = 0; i < 3; i++) {
        quick.push(
          await grid.submit(
            `Executable = "/bin/sh"; Arguments = "-c 'echo quick ${i}'"; TTL = 300;`,
          ),
        );
      }
      const long = await grid.submit(
        `Executable = "/bin/sh"; Arguments = "-c 'echo long job started; sleep 120'"; TTL = 300;`,
      );
      await browser.waitFor(
        `document.querySelectorAll("#jobs tr.job").length === 4`,
        "4 jobs in the table",
      );
      agent = grid.runAgent({
        containers: "bwrap",
        extraArgs: [
          "--cores",
          "2",
          "--max-empty",
          "3",
          "--heartbeat",
          "1",
          "--site",
          "test-site",
        ],
        timeoutMs: 180_000,
      });
      // Live: the rows change state without a reload.
      await browser.waitFor(
        `document.querySelectorAll('#jobs tr[data-state="DONE"]').length === 3`,
        "3 jobs DONE",
        120_000,
      );
      assertEquals(
        await browser.eval<string>(
          `document.querySelector('#counts .count[data-state="DONE"] b').textContent`,
        ),
        "3",
      );
      await browser.waitFor(
        `document.querySelector('#jobs tr[data-id="${long}"]')?.dataset.state === "RUNNING"`,
        "the long job RUNNING",
        60_000,
      );
      // Its detail: trace and live log.
      await browser.eval(
        `document.querySelector('#jobs tr[data-id="${long}"]').click()`,
      );
      await browser.waitFor(
        `document.getElementById("d-log").textContent.includes("long job started")`,
        "the live log",
      );
      await browser.waitFor(
        `[...document.querySelectorAll("#d-trace td")].some((td) => td.textContent === "RUNNING")`,
        "the trace",
      );
      // The site the agent came from.
      await browser.waitFor(
        `document.querySelector('#sites tr[data-site="test-site"]')`,
        "the agent's site",
      );
      await Deno.mkdir(`${ROOT}test-artifacts`, { recursive: true });
      await Deno.writeFile(
        `${ROOT}test-artifacts/dashboard.png`,
        await browser.screenshot(),
      );
      // Kill from the page.
      await browser.eval(`document.getElementById("d-kill").click()`);
      await browser.waitFor(
        `document.getElementById("d-state").textContent === "KILLED"`,
        "the job KILLED",
        60_000,
      );
      const job = await grid.user.json<{ state: string; killReason: number }>(
        "GET",
        `/api/v1/jobs/${long}`,
      );
      assertEquals(job!.state, "KILLED");
      // The page never put broker text into HTML: no element was injected.
      assert(
        await browser.eval<boolean>(
          `!document.querySelector("#jobs script, #d-trace script")`,
        ),
      );
      assertEquals((await agent).code, 0);
    } finally {
      await browser.close();
      await dashboard.close();
      await agent?.catch(() => {});
      await grid.close();
    }
  },
});
