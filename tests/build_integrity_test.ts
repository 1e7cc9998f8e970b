/**
 * Artefact integrity, as a hostile local user or job would probe it: the
 * unpacked runtime directory is checked file by file against the hashes in
 * the artefact before each start, never trusted for a stamp; `W` and
 * `W/rt` must be the current user's and writable by nobody else; helpers
 * are called by absolute path; the broker cannot write its own runtime.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { startGrid } from "./_grid.ts";
import { artefactOf, buildFor } from "./_build.ts";
import { brokerPermissions, toDenoFlags } from "../src/permissions/table.ts";

const dec = new TextDecoder();

async function run(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
) {
  const out = await new Deno.Command(cmd, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env,
  }).output();
  return {
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}

const exists = (p: string) => {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
};

Deno.test("artefact integrity: planted, tampered and foreign runtime dirs are never used", async (t) => {
  const grid = await startGrid();
  try {
    const build = await buildFor(grid);
    const agent = artefactOf(build, "agent").path;
    const wrapper = artefactOf(build, "wrapper").path;
    const site = async (name: string) => {
      const w = `${grid.dir}/${name}`;
      await Deno.mkdir(w, { mode: 0o700 });
      await Deno.copyFile(wrapper, `${w}/splitpilot-wrapper.run`);
      return w;
    };
    const stamp = (await run(agent, ["--info"])).stdout.match(
      /^stamp: (\w+)$/m,
    )![1];

    await t.step(
      "a dir planted by another uid with the public stamp is replaced, its run never executed",
      async () => {
        const w = await site("planted");
        const marker = `${w}/planted-ran`;
        await Deno.mkdir(`${w}/rt/agent`, { recursive: true, mode: 0o700 });
        await Deno.writeTextFile(`${w}/rt/agent/.stamp`, `${stamp}\n`);
        await Deno.writeTextFile(
          `${w}/rt/agent/run`,
          `#!/bin/sh\ntouch ${marker}\n`,
          { mode: 0o755 },
        );
        await run("chown", ["-R", "65534:65534", `${w}/rt/agent`]);
        const r = await run(agent, [w]);
        assert(!exists(marker), "the planted run was executed");
        assertEquals(r.code, 2, r.stderr);
        assertStringIncludes(r.stderr, "token/cert.pem");
        assertEquals(
          Deno.statSync(`${w}/rt/agent/run`).uid,
          Deno.statSync(w).uid,
        );
      },
    );

    await t.step(
      "a run edited to -A with the stamp intact is replaced before use",
      async () => {
        const w = await site("tampered");
        await run(agent, [w]);
        const original = await Deno.readTextFile(`${w}/rt/agent/run`);
        const marker = `${w}/tampered-ran`;
        await Deno.chmod(`${w}/rt/agent/run`, 0o700);
        await Deno.writeTextFile(
          `${w}/rt/agent/run`,
          `#!/bin/sh\ntouch ${marker}\nexec deno run -A "$@"\n`,
        );
        for (let i = 0; i < 2; i++) {
          const r = await run(agent, [w]);
          assert(!exists(marker), "the tampered run was executed");
          assertStringIncludes(r.stderr, "token/cert.pem");
        }
        assertEquals(await Deno.readTextFile(`${w}/rt/agent/run`), original);
        // A tampered runtime or helper is caught the same way.
        await Deno.chmod(`${w}/rt/agent/helpers/splitpilot-kill`, 0o700);
        await Deno.writeTextFile(
          `${w}/rt/agent/helpers/splitpilot-kill`,
          `#!/bin/sh\ntouch ${marker}\n`,
        );
        await run(agent, [w]);
        assertStringIncludes(
          await Deno.readTextFile(`${w}/rt/agent/helpers/splitpilot-kill`),
          "splitpilot-kill SIGNAL TARGET",
        );
      },
    );

    await t.step(
      "W or W/rt owned by someone else, or group/world-writable, is refused in one line",
      async () => {
        const open = await site("open");
        await Deno.chmod(open, 0o777);
        let r = await run(agent, [open]);
        assertEquals(r.code, 2);
        assertStringIncludes(r.stderr, `refusing ${open}:`);
        assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
        assert(!exists(`${open}/rt`), "nothing unpacked into an open W");

        const foreign = await site("foreign");
        await Deno.mkdir(`${foreign}/rt`, { mode: 0o700 });
        await run("chown", ["65534:65534", `${foreign}/rt`]);
        r = await run(agent, [foreign]);
        assertEquals(r.code, 2);
        assertStringIncludes(r.stderr, `refusing ${foreign}/rt:`);

        const groupRt = await site("group-rt");
        await Deno.mkdir(`${groupRt}/rt`, { mode: 0o700 });
        await Deno.chmod(`${groupRt}/rt`, 0o770);
        r = await run(agent, [groupRt]);
        assertEquals(r.code, 2);
        assertStringIncludes(r.stderr, `refusing ${groupRt}/rt:`);
      },
    );

    await t.step("a fake sh, tail or gzip on PATH is never run", async () => {
      const w = await site("path");
      const bin = `${grid.dir}/fakebin`;
      await Deno.mkdir(bin, { recursive: true });
      const marker = `${grid.dir}/fake-ran`;
      for (const tool of ["sh", "tail", "head", "gzip", "sha256sum", "mv"]) {
        await Deno.writeTextFile(
          `${bin}/${tool}`,
          `#!/bin/sh\necho ${tool} >> ${marker}\nexit 1\n`,
          { mode: 0o755 },
        );
      }
      const r = await run(agent, [w], { PATH: `${bin}:/usr/bin:/bin` });
      assertStringIncludes(r.stderr, "token/cert.pem");
      assert(exists(`${w}/rt/wrapper/run`), r.stderr);
      assert(
        !exists(marker),
        `ran from PATH: ${exists(marker) && Deno.readTextFileSync(marker)}`,
      );
    });

    await t.step(
      "DENO_AUDIT_PERMISSIONS outside the role's write grant is refused",
      async () => {
        const w = await site("audit");
        await Deno.mkdir(`${w}/token`, { mode: 0o700 });
        await Deno.writeTextFile(`${w}/token/cert.pem`, "not a certificate");
        const victim = `${grid.dir}/victim.txt`;
        await Deno.writeTextFile(victim, "precious\n");
        for (const bad of [victim, `${w}/rt/agent/run`, `${w}/token/x`]) {
          const r = await run(agent, [w], { DENO_AUDIT_PERMISSIONS: bad });
          assertEquals(r.code, 2, r.stderr);
          assertStringIncludes(
            r.stderr,
            `DENO_AUDIT_PERMISSIONS ${bad}: expected a file in a directory this role may write`,
          );
        }
        assertEquals(await Deno.readTextFile(victim), "precious\n");
      },
    );

    await t.step("the broker cannot modify its own runtime", async () => {
      const broker = artefactOf(build, "broker").path;
      const state = `${grid.dir}/bstate`;
      await Deno.mkdir(state, { mode: 0o700 });
      await run(broker, [state, "--help"]);
      const runFile = `${state}/rt/broker/run`;
      assert(exists(runFile));
      // The broker's own flags, from the table, run a probe that tries.
      const probe = `${grid.dir}/probe.ts`;
      await Deno.writeTextFile(
        probe,
        `const out: string[] = [];
for (const f of [${JSON.stringify(runFile)}, ${
          JSON.stringify(`${state}/rt/broker/new`)
        }]) {
  try { Deno.writeTextFileSync(f, "#!/bin/sh\\n"); out.push("wrote " + f); }
  catch (e) { out.push((e as Error).name); }
}
try { Deno.renameSync(${JSON.stringify(`${state}/rt`)}, ${
          JSON.stringify(`${state}/rt2`)
        }); out.push("renamed"); } catch (e) { out.push((e as Error).name); }
try { Deno.writeTextFileSync(${
          JSON.stringify(`${state}/ok`)
        }, "x"); out.push("state ok"); } catch (e) { out.push((e as Error).name); }
console.log(out.join(" "));`,
      );
      const flags = toDenoFlags(
        brokerPermissions({ listen: "127.0.0.1:1", stateDir: state }),
      );
      const r = await run(Deno.execPath(), [
        "run",
        "--no-prompt",
        "--no-config",
        ...flags,
        `--allow-read=${probe},${state}`,
        probe,
      ]);
      assertEquals(
        r.stdout.trim(),
        "NotCapable NotCapable NotCapable state ok",
        r.stderr,
      );
      // And the built broker's launcher carries the same deny.
      assertStringIncludes(
        await Deno.readTextFile(runFile),
        `--deny-write=`,
      );
    });
  } finally {
    await grid.close();
  }
});
