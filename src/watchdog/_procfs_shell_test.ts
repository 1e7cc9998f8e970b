import { assert, assertEquals, assertRejects } from "@std/assert";
import { ProcfsShell, ProcfsShellError } from "./_procfs_shell.ts";

Deno.test("procfs shell: answers in order, empty answers included", async () => {
  const sh = new ProcfsShell();
  try {
    const [conf, guard, self] = await Promise.all([
      sh.request("conf"),
      sh.request("guard", []),
      sh.request("self"),
    ]);
    assertEquals(conf.trim().split("\n").length, 2);
    assertEquals(guard, "");
    assert(self.startsWith(`/proc/${sh.pid}/stat:${sh.pid} (`), self);
    assert(self.endsWith("\n\0"), JSON.stringify(self));
  } finally {
    await sh.close();
  }
});

Deno.test("procfs shell: a shell that stops answering is killed, not waited for", async () => {
  // A "shell" that reads nothing and never answers.
  const dir = await Deno.makeTempDir({ prefix: "splitpilot-sh-" });
  const mute = `${dir}/mute.sh`;
  await Deno.writeTextFile(mute, "#!/bin/sh\nexec sleep 300\n", {
    mode: 0o755,
  });
  const sh = new ProcfsShell({ shell: mute, timeoutMs: 300 });
  try {
    await assertRejects(
      () => sh.request("conf"),
      ProcfsShellError,
      "did not answer",
    );
    assertEquals(sh.closed, true);
    await assertRejects(() => sh.request("conf"), ProcfsShellError, "closed");
  } finally {
    await sh.close();
    await Deno.remove(dir, { recursive: true });
  }
});
