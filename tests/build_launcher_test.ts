/**
 * The built launchers start the runtime with exactly the role's row of
 * the table and nothing from the caller: a stand-in `deno` records the
 * argv and environment it receives from each unpacked launcher.
 */
import { encodeAllowRun } from "../src/build/allow_run_list.ts";
import {
  assert,
  assertEquals,
  assertGreater,
  assertNotEquals,
  assertStringIncludes,
} from "@std/assert";
import {
  agentPermissions,
  brokerPermissions,
  type PermissionSet,
  toDenoFlags,
  wrapperPermissions,
} from "../src/permissions/table.ts";
import {
  bundleName,
  LOCKDOWN_FLAGS,
  renderLauncher,
  siteAgentContext,
  siteBrokerContext,
  siteWrapperContext,
  templatePermissions,
} from "../src/build/mod.ts";
import { flagsBeyond } from "../src/audit/mod.ts";
import type { ProcessRole } from "../src/permissions/table.ts";
import { buildArtefacts } from "../src/build/mod.ts";
import { artefactOf, BUILD_CACHE } from "./_build.ts";

const BROKER = "127.0.0.1:18443";
const FAKE_DENO = `#!/bin/sh
d=\${0%/*}
: > "$d/argv.txt"
for a in "$@"; do printf '%s\\n' "$a" >> "$d/argv.txt"; done
env > "$d/env.txt"
`;

/** Replaces `dir/deno` with the recorder. */
async function fake(dir: string) {
  await Deno.remove(`${dir}/deno`);
  await Deno.writeTextFile(`${dir}/deno`, FAKE_DENO, { mode: 0o700 });
}

async function launch(
  dir: string,
  args: string[],
  env: Record<string, string> = {},
) {
  const r = await new Deno.Command(`${dir}/run`, {
    args,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(r.stderr);
  if (!r.success) return { code: r.code, stderr, argv: [], env: {} };
  const argv = (await Deno.readTextFile(`${dir}/argv.txt`)).trimEnd().split(
    "\n",
  );
  const envOut: Record<string, string> = {};
  for (const l of (await Deno.readTextFile(`${dir}/env.txt`)).split("\n")) {
    const i = l.indexOf("=");
    // The recorder's own shell sets PWD (and some set SHLVL, _).
    const name = l.slice(0, i);
    if (i > 0 && !["PWD", "OLDPWD", "SHLVL", "_"].includes(name)) {
      envOut[name] = l.slice(i + 1);
    }
  }
  return { code: 0, stderr, argv, env: envOut };
}

/** The permission flags in a recorded argv (Deno's, before the script). */
function permissionFlags(argv: string[]): string[] {
  const script = argv.findIndex((a) => a.endsWith(".js"));
  assertGreater(script, 0, argv.join(" "));
  return argv.slice(0, script).filter((a) => /^--(allow|deny)-/.test(a));
}

const HOSTILE = {
  DENO_V8_FLAGS: "--allow-natives-syntax",
  DENO_CERT: "/etc/hostname",
  DENO_DIR: "/tmp/elsewhere",
  HTTPS_PROXY: "http://127.0.0.1:1",
  LD_PRELOAD: "/nonexistent.so",
  FOO: "bar",
  SPLITPILOT_MARK: "kept",
  DENO_AUDIT_PERMISSIONS: "/dev/null",
};

Deno.test("built launchers: exactly the table's flags, arguments after the script, a clean environment", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "splitpilot-launcher-" });
  try {
    const build = await buildArtefacts({
      broker: BROKER,
      out: `${dir}/dist`,
      cacheDir: BUILD_CACHE,
    });
    const unpack = async (role: ProcessRole) => {
      const d = `${dir}/rt-${role}`;
      const r = await new Deno.Command("/bin/sh", {
        args: [artefactOf(build, role).path, "--unpack", d],
      }).output();
      assert(r.success, new TextDecoder().decode(r.stderr));
      await fake(d);
      return d;
    };
    const work = `${dir}/site`;
    await Deno.mkdir(`${work}/token`, { recursive: true });
    await Deno.writeTextFile(`${work}/token/cert.pem`, "x");
    await Deno.mkdir(`${work}/rt/wrapper`, { recursive: true });
    await Deno.writeTextFile(`${work}/rt/wrapper/run`, "x");

    await t.step("agent", async () => {
      const d = await unpack("agent");
      const r = await launch(d, [work, "--allow-all", "-A", "--cores", "2"], {
        PATH: "/opt/x/bin:/usr/bin:/bin",
        HOME: "/home/site",
        ...HOSTILE,
      });
      assertEquals(r.code, 0, r.stderr);
      const table = agentPermissions(siteAgentContext(work, BROKER));
      assertEquals(r.argv.slice(0, 1 + LOCKDOWN_FLAGS.length), [
        "run",
        ...LOCKDOWN_FLAGS,
      ]);
      assertEquals(permissionFlags(r.argv), toDenoFlags(table));
      const script = r.argv.indexOf(`${d}/${bundleName("agent")}`);
      assertGreater(script, 0);
      assertEquals(flagsBeyond(r.argv.slice(0, script), table), []);
      assertEquals(r.argv.slice(script + 1), [
        "--broker",
        `https://${BROKER}`,
        "--token",
        `${work}/token`,
        "--work",
        `${work}/work`,
        "--wrapper",
        `${work}/rt/wrapper`,
        "--allow-all",
        "-A",
        "--cores",
        "2",
      ]);
      assertEquals(r.env, {
        PATH: "/opt/x/bin:/usr/bin:/bin",
        HOME: "/home/site",
        SPLITPILOT_MARK: "kept",
        DENO_AUDIT_PERMISSIONS: "/dev/null",
        DENO_DIR: `${d}/.deno`,
        DENO_NO_UPDATE_CHECK: "1",
      });
    });

    await t.step(
      "agent: refuses a work dir without a token or a bad one",
      async () => {
        const d = `${dir}/rt-agent`;
        const empty = `${dir}/empty`;
        await Deno.mkdir(empty);
        for (
          const [w, msg] of [
            [empty, "missing"],
            ["relative/dir", "absolute"],
            ["/", "must not be /"],
            [`${dir}/no-such`, "not a directory"],
          ]
        ) {
          const r = await launch(d, [w]);
          assertEquals(r.code, 2, w);
          assertStringIncludes(r.stderr, msg);
        }
      },
    );

    await t.step(
      "wrapper: run list from the sandbox, nothing else",
      async () => {
        const d = await unpack("wrapper");
        const sandbox = `${dir}/sandbox`;
        await Deno.mkdir(`${sandbox}/.splitpilot`, { recursive: true });
        const runList = `${sandbox}/.splitpilot/allow-run`;
        await Deno.writeTextFile(
          runList,
          encodeAllowRun(["/usr/bin/env", "/bin/kill"]),
        );
        const r = await launch(d, [sandbox, "--self-test"], HOSTILE);
        assertEquals(r.code, 0, r.stderr);
        const table = wrapperPermissions(
          siteWrapperContext(sandbox, ["/usr/bin/env", "/bin/kill"]),
        );
        assertEquals(
          [...permissionFlags(r.argv)].sort(),
          [...toDenoFlags(table)].sort(),
        );
        const script = r.argv.indexOf(`${d}/${bundleName("wrapper")}`);
        assertEquals(r.argv.slice(script + 1), [
          "--workdir",
          sandbox,
          "--self-test",
        ]);
        // HOME and PATH come from this test's own environment.
        assertEquals(Object.keys(r.env).sort(), [
          "DENO_AUDIT_PERMISSIONS",
          "DENO_DIR",
          "DENO_NO_UPDATE_CHECK",
          "HOME",
          "PATH",
          "SPLITPILOT_MARK",
        ]);
        // No list: no --allow-run at all (never a bare one, which means all).
        await Deno.writeTextFile(runList, "");
        const none = await launch(d, [sandbox]);
        assertEquals(
          none.argv.filter((a) => a.startsWith("--allow-run")),
          [],
        );
        for (
          const bad of [
            "bin/sh\n",
            "/bin/a,/bin/b\n",
            '["bin/sh"]\n',
            '["/bin/a,/bin/b"]\n',
            "/usr/bin/env\n/bin/kill\n",
          ]
        ) {
          await Deno.writeTextFile(runList, bad);
          const r2 = await launch(d, [sandbox]);
          assertEquals(r2.code, 2, bad);
          assertStringIncludes(r2.stderr, "allow-run");
        }
      },
    );

    await t.step("broker", async () => {
      const d = await unpack("broker");
      const state = `${dir}/state`;
      await Deno.mkdir(state);
      const r = await launch(d, [state, "broker", "serve", "--state", state]);
      assertEquals(r.code, 0, r.stderr);
      assertEquals(
        permissionFlags(r.argv),
        toDenoFlags(brokerPermissions(siteBrokerContext(state, BROKER))),
      );
      assert(!r.argv.some((a) => a === "-A" || a.startsWith("--allow-run")));
    });

    await t.step(
      "a launcher rendered from a widened row is caught",
      async () => {
        const d = `${dir}/widened`;
        await Deno.mkdir(d);
        await Deno.writeTextFile(`${d}/deno`, FAKE_DENO, { mode: 0o700 });
        const template = templatePermissions("wrapper", BROKER);
        const widened: PermissionSet = {
          ...template,
          read: [...template.read, "/etc"],
          net: [...template.net, "127.0.0.1"],
        };
        await Deno.writeTextFile(
          `${d}/run`,
          renderLauncher({
            role: "wrapper",
            permissions: widened,
            bundle: "wrapper.js",
            fixedArgs: [],
            runListFile: ".splitpilot/allow-run",
            broker: BROKER,
          }),
          { mode: 0o700 },
        );
        const sandbox = `${dir}/sandbox`;
        await Deno.writeTextFile(`${sandbox}/.splitpilot/allow-run`, "");
        const r = await launch(d, [sandbox]);
        assertEquals(r.code, 0, r.stderr);
        const table = wrapperPermissions(siteWrapperContext(sandbox));
        const beyond = flagsBeyond(r.argv, table);
        assertEquals(beyond, ["--allow-net=127.0.0.1", "--allow-read=/etc"]);
        assertNotEquals(beyond, []);
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});
