import { assertEquals, assertStringIncludes } from "@std/assert";
import { checkSetup, SETUP_FAILED_EXIT, setupArgv } from "./setup_script.ts";

async function run(argv: string[]) {
  const [cmd, ...args] = argv;
  const out = await new Deno.Command(cmd, {
    args,
    clearEnv: true,
    env: { PATH: "/usr/bin:/bin" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return {
    code: out.code,
    out: d.decode(out.stdout),
    err: d.decode(out.stderr),
  };
}

Deno.test("setup script: the payload gets what the script exports", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/etc`);
    await Deno.writeTextFile(
      `${dir}/etc/setup.sh`,
      'export SITE=cern\nPATH="$SPLITPILOT_SOFTWARE/bin:$PATH"\n',
    );
    const r = await run(
      setupArgv(`${dir}/etc/setup.sh`, [
        "/bin/sh",
        "-c",
        'echo "$SITE $PATH $1"',
        "-",
        "arg one",
      ]),
    );
    assertEquals(r, {
      code: 0,
      out: `cern ${dir}/bin:/usr/bin:/bin arg one\n`,
      err: "",
    });
    assertEquals(await checkSetup(`${dir}/etc/setup.sh`), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("setup script: a broken script stops the payload and says why", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/setup.sh`,
      "echo cvmfs not mounted >&2\nfalse\n",
    );
    const r = await run(
      setupArgv(`${dir}/setup.sh`, ["/bin/echo", "payload ran"]),
    );
    assertEquals(r.code, SETUP_FAILED_EXIT);
    assertEquals(r.out, "");
    assertStringIncludes(r.err, `setup script ${dir}/setup.sh failed`);
    assertEquals(
      await checkSetup(`${dir}/setup.sh`),
      `setup script ${dir}/setup.sh failed with exit 1: cvmfs not mounted`,
    );
    const missing = await checkSetup(`${dir}/nope.sh`);
    assertStringIncludes(
      missing!,
      `setup script ${dir}/nope.sh failed with exit 2`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
