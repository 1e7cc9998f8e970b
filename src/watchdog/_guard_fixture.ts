/**
 * Test fixture for the dead man's switch: starts a procfs sampler, a
 * detached shell with two `sleep` children, watches and samples that tree,
 * prints the shell's pid, then waits to be killed.
 *
 * Usage: `deno run --allow-run=/bin/sh,HELPERS _guard_fixture.ts MARKER`
 *
 * @module
 */
import { ProcfsSampler } from "./procfs_sampler.ts";

if (import.meta.main) {
  const marker = Deno.args[0] ?? "300";
  const sampler = await ProcfsSampler.start({ discoverMs: 0 });
  const child = new Deno.Command("/bin/sh", {
    args: ["-c", `sleep ${marker} & sleep ${marker} & wait`],
    detached: true,
    stdout: "null",
    stderr: "null",
  }).spawn();
  const tree = await sampler.watch(child.pid);
  // Wait until both sleeps are in the tree (and so guarded).
  for (let i = 0; i < 100 && (await tree.sample()).processes < 3; i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  console.log(child.pid);
  await new Promise(() => {});
}
