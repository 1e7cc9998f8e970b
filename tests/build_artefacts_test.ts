/**
 * `deno task build` (offline form): one self-extracting file per role
 * with a checksum, flags from the table and never `-A`; the broker/CLI
 * artefact runs the CLI and serves the API within its state dir.
 */
import {
  assert,
  assertEquals,
  assertMatch,
  assertStringIncludes,
} from "@std/assert";
import { buildMain } from "../scripts/build.ts";
import { freePort } from "../src/launch/role_process.ts";
import { BUILD_CACHE } from "./_build.ts";

async function sha256(path: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0"))
    .join("");
}

async function sh(args: string[], env: Record<string, string> = {}) {
  const r = await new Deno.Command("/bin/sh", {
    args,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return {
    code: r.code,
    stdout: dec.decode(r.stdout),
    stderr: dec.decode(r.stderr),
  };
}

Deno.test("build: one checksummed artefact per role, flags from the table, no -A", async () => {
  const dir = await Deno.makeTempDir({ prefix: "splitpilot-build-" });
  try {
    const port = freePort();
    const out = `${dir}/dist`;
    const lines: string[] = [];
    const code = await buildMain([
      "--broker",
      `127.0.0.1:${port}`,
      "--out",
      out,
      "--cache",
      BUILD_CACHE,
      "--no-bench",
    ], { out: (l) => lines.push(l), err: (l) => lines.push(l) });
    assertEquals(code, 0, lines.join("\n"));
    assertStringIncludes(lines.join("\n"), "compile form skipped");
    const manifest = JSON.parse(
      await Deno.readTextFile(`${out}/manifest.json`),
    );
    assertEquals(manifest.broker, `127.0.0.1:${port}`);
    const offline = manifest.artefacts.filter((a: { form: string }) =>
      a.form === "offline"
    );
    assertEquals(
      offline.map((a: { role: string }) => a.role),
      ["agent", "wrapper", "broker"],
    );
    const sums = await Deno.readTextFile(`${out}/SHA256SUMS`);
    for (const a of offline) {
      const path = `${out}/${a.name}`;
      assertEquals(await sha256(path), a.sha256);
      assertStringIncludes(sums, `${a.sha256}  ${a.name}\n`);
      assertEquals(
        await Deno.readTextFile(`${path}.sha256`),
        `${a.sha256}  ${a.name}\n`,
      );
      for (const f of a.flags as string[]) {
        assertMatch(
          f,
          /^--(allow-(net|read|write|run|env)|deny-write)=./,
          a.name,
        );
      }
      const info = await sh([path, "--info"]);
      assertEquals(info.code, 0, info.stderr);
      assertStringIncludes(info.stdout, `role: ${a.role}`);
      assertStringIncludes(info.stdout, `broker: 127.0.0.1:${port}`);
      assertStringIncludes(info.stdout, `deno: ${Deno.version.deno}`);
      assert(!/\s(-A|--allow-all)\b/.test(info.stdout), info.stdout);
    }
    // The wrapper is started by the agent only.
    const direct = await sh([`${out}/splitpilot-wrapper.run`, dir]);
    assertEquals(direct.code, 2);
    assertStringIncludes(direct.stderr, "started by the agent");

    // The broker/CLI artefact: CLI commands and the API, inside STATE.
    const state = `${dir}/state`;
    await Deno.mkdir(state);
    const broker = `${out}/splitpilot-broker.run`;
    const init = await sh([broker, state, "ca", "init", "--state", state]);
    assertEquals(init.code, 0, init.stderr);
    assert((await Deno.stat(`${state}/ca/ca.key`)).isFile);
    // Outside its state dir the CLI is refused by its own permissions.
    const outside = await sh([broker, state, "ca", "init", "--state", dir]);
    assertEquals(outside.code, 1);
    assertStringIncludes(outside.stderr, "Requires read access");
    const child = new Deno.Command("/bin/sh", {
      args: [
        broker,
        state,
        "broker",
        "serve",
        "--state",
        state,
        "--listen",
        `127.0.0.1:${port}`,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    const reader = child.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
    let seen = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    while (!seen.includes("listening on")) {
      const { done, value } = await reader.read();
      if (done) break;
      seen += value;
    }
    clearTimeout(timer);
    // The broker handles SIGTERM by the time it says it listens.
    child.kill("SIGTERM");
    await reader.cancel();
    const status = await child.status;
    const err = await stderr;
    assertStringIncludes(seen, `listening on https://127.0.0.1:${port}`, err);
    assertEquals(status.code, 0, `${status.code}: ${err}`);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("build: bad usage answers with one line naming the flag", async () => {
  const errors: string[] = [];
  const io = { out: () => {}, err: (l: string) => errors.push(l) };
  assertEquals(await buildMain(["--out", "/nonexistent"], io), 2);
  assertEquals(await buildMain(["--broker", "no-port", "--no-bench"], io), 2);
  assertEquals(await buildMain(["--broker", "h:1", "--bogus"], io), 2);
  assertStringIncludes(errors[0], "--broker is required");
  assertStringIncludes(errors[1], "--broker no-port: expected HOST:PORT");
  assertStringIncludes(errors[2], "bogus");
});
