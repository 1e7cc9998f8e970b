import { assertThrows } from "@std/assert";
import { checkWrapperAudit, checkWrapperDir } from "./wrapper_guard.ts";

Deno.test("--wrapper under the agent's writable work root is refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "splitpilot-guard-" });
  try {
    await Deno.mkdir(`${dir}/work/w`, { recursive: true });
    await Deno.mkdir(`${dir}/rt/wrapper`, { recursive: true });
    await Deno.symlink(`${dir}/work/w`, `${dir}/link`);
    checkWrapperDir(`${dir}/rt/wrapper`, [`${dir}/work`]);
    for (const bad of [`${dir}/work/w`, `${dir}/work`, `${dir}/link`, dir]) {
      assertThrows(
        () => checkWrapperDir(bad, [`${dir}/work`]),
        TypeError,
        "which the agent may write",
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--wrapper-audit takes only the wrapper's stderr", () => {
  checkWrapperAudit("/dev/stderr");
  assertThrows(
    () => checkWrapperAudit("/root/.bashrc"),
    TypeError,
    "expected /dev/stderr",
  );
});
