/**
 * The wrapper's `--allow-run` hand-off cannot be split by the data: a
 * newline, NUL or comma inside a program path (say, from a hostile JDL
 * `Executable`) never becomes an extra grant. The agent refuses to write
 * such an entry, and the built wrapper's launcher refuses a file that is
 * not plain JSON of plain absolute paths.
 */
import {
  assert,
  assertEquals,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import { encodeAllowRun } from "../src/build/allow_run_list.ts";
import { renderLauncher, RUN_MARK, WORKDIR_MARK } from "../src/build/mod.ts";
import { ALLOW_RUN_FILE } from "../src/build/site_layout.ts";

const INJECTED = [
  "/bin/true\n/usr/bin/python3",
  "/bin/true\0/usr/bin/python3",
  "/bin/true,/usr/bin/python3",
  '/bin/true","/usr/bin/python3',
  "/bin/true\\n/usr/bin/python3",
];

Deno.test("allow-run hand-off: the agent refuses newline, NUL, comma and quote injection", () => {
  for (const p of INJECTED) {
    assertThrows(() => encodeAllowRun(["/usr/bin/env", p]), TypeError);
  }
  assertEquals(
    encodeAllowRun(["/bin/true", "/usr/bin/env"]),
    '["/bin/true","/usr/bin/env"]\n',
  );
});

/** A wrapper launcher over a fake `deno` that prints its arguments. */
async function fakeWrapper(): Promise<{ dir: string; sandbox: string }> {
  const dir = await Deno.makeTempDir({ prefix: "splitpilot-allowrun-" });
  await Deno.mkdir(`${dir}/rt`);
  await Deno.mkdir(`${dir}/sandbox/.splitpilot`, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/rt/deno`,
    '#!/bin/sh\nfor a; do printf "%s\\n" "$a"; done\n',
    { mode: 0o755 },
  );
  await Deno.writeTextFile(`${dir}/rt/wrapper.js`, "");
  await Deno.writeTextFile(
    `${dir}/rt/run`,
    renderLauncher({
      role: "wrapper",
      permissions: {
        net: ["127.0.0.1:1"],
        read: [WORKDIR_MARK],
        write: [WORKDIR_MARK],
        run: [RUN_MARK],
        env: ["HOME"],
      },
      bundle: "wrapper.js",
      fixedArgs: ["--workdir", WORKDIR_MARK],
      runListFile: ALLOW_RUN_FILE,
      broker: "127.0.0.1:1",
    }),
    { mode: 0o755 },
  );
  return { dir, sandbox: `${dir}/sandbox` };
}

async function launch(dir: string, sandbox: string, list: Uint8Array | string) {
  await Deno.writeFile(
    `${sandbox}/${ALLOW_RUN_FILE}`,
    typeof list === "string" ? new TextEncoder().encode(list) : list,
  );
  const out = await new Deno.Command(`${dir}/rt/run`, {
    args: [sandbox],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  const runFlags = dec.decode(out.stdout).split("\n").filter((a) =>
    a.startsWith("--allow-run")
  );
  return { code: out.code, runFlags, stderr: dec.decode(out.stderr) };
}

Deno.test("allow-run hand-off: the built launcher grants a plain list and refuses anything that could split", async () => {
  const { dir, sandbox } = await fakeWrapper();
  try {
    const ok = await launch(dir, sandbox, encodeAllowRun(["/bin/true"]));
    assertEquals(ok.code, 0, ok.stderr);
    assertEquals(ok.runFlags, ["--allow-run=/bin/true"]);
    const hostile: (string | Uint8Array)[] = [
      // What JSON makes of a newline or NUL: an escape, refused.
      JSON.stringify(INJECTED[0]).replace(/^/, "[") + "]\n",
      JSON.stringify(["/bin/true\0/usr/bin/python3"]) + "\n",
      // Raw newline and NUL bytes, a comma, and the old line format.
      '["/bin/true\n/usr/bin/python3"]\n',
      new Uint8Array([
        ...new TextEncoder().encode('["/bin/true'),
        0,
        ...new TextEncoder().encode('/usr/bin/python3"]\n'),
      ]),
      '["/bin/true,/usr/bin/python3"]\n',
      '["/bin/true"],["/usr/bin/python3"]\n',
      "/bin/true\n/usr/bin/python3\n",
    ];
    for (const list of hostile) {
      const r = await launch(dir, sandbox, list);
      const shown = typeof list === "string" ? list : "NUL bytes";
      const entries = r.runFlags.flatMap((f) =>
        f.slice("--allow-run=".length).split(",")
      );
      assert(
        !entries.includes("/usr/bin/python3"),
        `extra grant from ${JSON.stringify(shown)}: ${r.runFlags}`,
      );
      if (typeof list !== "string") {
        // sh drops NUL bytes: what is left is one path, never two.
        assert(entries.length <= 1, `${r.runFlags}`);
        continue;
      }
      assertEquals(r.runFlags, [], `granted from ${JSON.stringify(shown)}`);
      assertEquals(r.code, 2, `${JSON.stringify(shown)}: ${r.stderr}`);
      assertStringIncludes(r.stderr, "splitpilot-wrapper: allow-run:");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
