/**
 * Relay under load (issue 20): four jobs at once, each writing and
 * uploading 10 MB through the agent's relay, keep the agent's memory
 * bounded. The agent's resident set is read from /proc (VmHWM, its peak)
 * and must stay under 150 MB; the relay's own count of body bytes it held
 * at once (logged per job) must stay within one credit window, where a
 * relay that buffered files would hold 10 MB. Nothing is timed.
 */
import { assert, assertEquals } from "@std/assert";
import { agentCommand } from "../src/launch/role_process.ts";
import { RELAY_WINDOW } from "../src/pipe/relay_frames.ts";
import { needs, startGrid } from "./_grid.ts";

const MB = 2 ** 20;

async function statusKb(pid: number, key: string): Promise<number> {
  // Through cat: Deno refuses reads below /proc without -A.
  const out = await new Deno.Command("/bin/cat", {
    args: [`/proc/${pid}/status`],
    stdout: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text);
  if (!m) throw new Error(`no ${key} in /proc/${pid}/status`);
  return Number(m[1]);
}

Deno.test({
  name:
    "relay under load: 4 jobs uploading 10 MB each keep the agent's RSS bounded",
  ignore: needs("bwrap"),
  fn: async () => {
    const grid = await startGrid({ process: true });
    let child: Deno.ChildProcess | undefined;
    try {
      const { cmd, args } = agentCommand({
        broker: grid.url,
        tokenDir: grid.agentTokenDir,
        workRoot: `${grid.dir}/work`,
        containers: "bwrap",
        extraArgs: ["--cores", "4", "--wait", "--heartbeat", "2"],
      });
      child = new Deno.Command(cmd, {
        args,
        stdin: "null",
        stdout: "null",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).spawn();
      let log = "";
      const ready = Promise.withResolvers<void>();
      const drained = (async () => {
        const dec = new TextDecoder();
        for await (const c of child!.stderr) {
          log += dec.decode(c, { stream: true });
          if (log.includes("container runtime: bwrap")) ready.resolve();
        }
        ready.reject(new Error(`agent ended before it was ready:\n${log}`));
      })();
      await ready.promise;
      const idleKb = await statusKb(child.pid, "VmHWM");
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) {
        ids.push(
          await grid.submit(`
            Executable = "/usr/bin/head";
            Arguments = "-c 10485760 /dev/urandom";
            Output = {"stdout@disk=1"};
            OutputFile = {"stdout"};
            TTL = 300;`),
        );
      }
      // Until every job is final (generous: the machine is shared).
      const deadline = Date.now() + 300_000;
      let states: string[] = [];
      while (Date.now() < deadline) {
        states = await Promise.all(
          ids.map(async (id) =>
            (await grid.user.json<{ state: string }>(
              "GET",
              `/api/v1/jobs/${id}`,
            ))!.state
          ),
        );
        if (states.every((s) => s === "DONE" || s.startsWith("ERROR"))) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      const peakKb = await statusKb(child.pid, "VmHWM");
      assertEquals(states, ["DONE", "DONE", "DONE", "DONE"], log);
      for (const id of ids) {
        const res = await grid.user.download(`/jdoe/jobs/${id}/stdout`);
        assertEquals((await res.bytes()).length, 10 * MB);
      }
      const peakMb = peakKb / 1024;
      console.log(
        `agent VmHWM idle ${(idleKb / 1024).toFixed(1)} MB, peak ${
          peakMb.toFixed(1)
        } MB while relaying 40 MB`,
      );
      assert(peakMb < 150, `agent peak RSS ${peakMb.toFixed(1)} MB`);
      // The relay's own hold on the bodies: never more than one window
      // per job (one upload at a time), whatever the file size.
      const held = [
        ...log.matchAll(
          /relay: (\d+) call.*?(\d+) bytes up.*?at most (\d+) bytes held/g,
        ),
      ];
      assertEquals(held.length, 4, log);
      for (const [, , up, most] of held) {
        assert(Number(up) >= 10 * MB, `${up} bytes up`);
        assert(Number(most) <= RELAY_WINDOW, `${most} bytes held at once`);
      }
      child.kill("SIGTERM");
      await child.status;
      await drained.catch(() => {});
      child = undefined;
    } finally {
      if (child) {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
        await child.status;
      }
      await grid.close();
    }
  },
});
