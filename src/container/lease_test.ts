import { assertEquals } from "@std/assert";
import { holdLease, leaseArgv } from "./lease.ts";

/**
 * Runs the shim as it runs in a container: as pid 1 of its own pid
 * namespace (unshare stands in for the runtime).
 */
function inPidNamespace(lease: string, argv: string[]) {
  return new Deno.Command("/usr/bin/unshare", {
    args: [
      "--user",
      "--map-current-user",
      "--pid",
      "--fork",
      "--kill-child",
      "--",
      ...leaseArgv(argv, lease),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
}

async function alive(marker: string): Promise<boolean> {
  const out = await new Deno.Command("/usr/bin/pgrep", {
    args: ["-f", marker],
    stdout: "null",
  }).output();
  return out.success;
}

Deno.test("lease shim: passes stdin/stdout and the exit code through", async () => {
  const dir = await Deno.makeTempDir();
  const lease = await holdLease(`${dir}/lease`);
  try {
    const child = inPidNamespace(lease.path, [
      "/bin/sh",
      "-c",
      "read x; echo got $x; exit 7",
    ]);
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode("hello\n"));
    await w.close();
    const out = await child.output();
    assertEquals([out.code, new TextDecoder().decode(out.stdout)], [
      7,
      "got hello\n",
    ]);
  } finally {
    await lease.release();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("lease shim: releasing the lease kills the wrapper and its children", async () => {
  const dir = await Deno.makeTempDir();
  const lease = await holdLease(`${dir}/lease`);
  const marker = `${1000 + Math.floor(Math.random() * 8000)}.${
    Date.now() % 1000
  }`;
  try {
    const child = inPidNamespace(lease.path, [
      "/bin/sh",
      "-c",
      `sleep ${marker} & sleep ${marker}`,
    ]);
    await child.stdin.close();
    for (let i = 0; i < 300 && !(await alive(`sleep ${marker}`)); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assertEquals(await alive(`sleep ${marker}`), true);
    await lease.release();
    const status = await child.status;
    assertEquals(status.success, false);
    assertEquals(await alive(`sleep ${marker}`), false);
    assertEquals(
      await Deno.stat(lease.path).then(() => true, () => false),
      false,
    );
  } finally {
    await lease.release();
    await Deno.remove(dir, { recursive: true });
  }
});
