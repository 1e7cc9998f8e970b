/**
 * Negative tests on the built wrapper: its process — the shipped launcher
 * and runtime, with the wrapper's fixed flags — cannot read outside its
 * sandbox, connect to any local port (the broker's included: its calls
 * are relayed by the agent), or spawn a program that is not on its run list; each is refused with `NotCapable`
 * and shows up in the audit summary. Nothing in the shipped wrapper is
 * changed or weakened for this:
 *
 * 1. A probe program takes the wrapper bundle's place in a *copy* of the
 *    unpacked artefact (same `run` launcher, same runtime): it stands for
 *    any code that ends up running in the wrapper process. It is started
 *    with `--allow-all` arguments and hostile `DENO_*`/proxy variables,
 *    which must change nothing.
 * 2. The real, unchanged wrapper bundle gets a start frame whose broker is
 *    the second port: its own HTTPS client is refused.
 */
import {
  assert,
  assertArrayIncludes,
  assertEquals,
  assertNotEquals,
  assertStringIncludes,
} from "@std/assert";
import {
  auditRecords,
  formatAuditReport,
  parseAuditLog,
} from "../src/audit/mod.ts";
import { roleTable } from "../src/audit/mod.ts";
import { buildArtefacts } from "../src/build/mod.ts";
import {
  decodeJson,
  FrameType,
  FrameWriter,
  readFrames,
} from "../src/pipe/mod.ts";
import type { EndMessage, StartMessage } from "../src/protocol/mod.ts";
import { createCa, TokenIssuer } from "../src/token/mod.ts";
import { artefactOf, BUILD_CACHE } from "./_build.ts";

/** Tries each access and prints one JSON object of outcomes. */
const PROBE = `
const [sandbox, broker, other] = Deno.args.slice(Deno.args.indexOf("--") + 1);
const out = { args: Deno.args };
async function attempt(name, fn) {
  try { await fn(); out[name] = "ok"; }
  catch (e) { out[name] = e.name + ": " + e.message; }
}
const port = (hp) => Number(hp.split(":")[1]);
await attempt("readInside", () => Deno.readTextFile(sandbox + "/in.txt"));
await attempt("readEtc", () => Deno.readTextFile("/etc/hostname"));
await attempt("readBeside", () => Deno.readTextFile(sandbox + "/../outside.txt"));
await attempt("writeTmp", () => Deno.writeTextFile("/tmp/splitpilot-deny-probe", "x"));
await attempt("connectBroker", async () => (await Deno.connect({ hostname: "127.0.0.1", port: port(broker) })).close());
await attempt("connectOther", async () => (await Deno.connect({ hostname: "127.0.0.1", port: port(other) })).close());
await attempt("fetchOther", () => fetch("http://127.0.0.1:" + port(other) + "/"));
await attempt("spawnAllowed", () => new Deno.Command("/bin/true").output());
await attempt("spawnLs", () => new Deno.Command("/bin/ls").output());
await attempt("spawnSh", () => new Deno.Command("/bin/sh", { args: ["-c", "true"] }).output());
await attempt("envAudit", () => Deno.env.get("DENO_AUDIT_PERMISSIONS"));
out.readRoot = (await Deno.permissions.query({ name: "read", path: "/" })).state;
out.runAny = (await Deno.permissions.query({ name: "run" })).state;
console.log(JSON.stringify(out));
`;

function listen(): { listener: Deno.Listener; addr: string } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  // Accept and drop, so an (unexpected) connection would succeed.
  (async () => {
    for await (const c of listener) c.close();
  })().catch(() => {});
  return {
    listener,
    addr: `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
  };
}

async function setup() {
  const dir = await Deno.makeTempDir({ prefix: "splitpilot-deny-" });
  const broker = listen();
  const other = listen();
  const build = await buildArtefacts({
    broker: broker.addr,
    out: `${dir}/dist`,
    cacheDir: BUILD_CACHE,
  });
  const shipped = `${dir}/wrapper`;
  const r = await new Deno.Command("/bin/sh", {
    args: [artefactOf(build, "wrapper").path, "--unpack", shipped],
  }).output();
  assert(r.success, new TextDecoder().decode(r.stderr));
  const sandbox = `${dir}/sandbox`;
  await Deno.mkdir(`${sandbox}/.splitpilot`, { recursive: true });
  await Deno.writeTextFile(
    `${sandbox}/.splitpilot/allow-run`,
    JSON.stringify(["/bin/true"]) + "\n",
  );
  await Deno.writeTextFile(`${sandbox}/in.txt`, "inside\n");
  await Deno.writeTextFile(`${dir}/outside.txt`, "outside\n");
  return {
    dir,
    broker: broker.addr,
    other: other.addr,
    shipped,
    sandbox,
    close: async () => {
      broker.listener.close();
      other.listener.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

Deno.test("built wrapper: out-of-sandbox read, second port and unlisted program are refused (NotCapable) and audited", async () => {
  const t = await setup();
  try {
    // A copy of the unpacked artefact with the probe as its program.
    const probeDir = `${t.dir}/probe`;
    await Deno.mkdir(probeDir);
    await Deno.link(`${t.shipped}/deno`, `${probeDir}/deno`);
    await Deno.copyFile(`${t.shipped}/run`, `${probeDir}/run`);
    await Deno.chmod(`${probeDir}/run`, 0o700);
    await Deno.writeTextFile(`${probeDir}/wrapper.js`, PROBE);
    // In the sandbox: the only place the wrapper may write.
    const log = `${t.sandbox}/wrapper-audit.jsonl`;
    const r = await new Deno.Command(`${probeDir}/run`, {
      args: [
        t.sandbox,
        "--allow-all",
        "-A",
        "--allow-read=/",
        "--",
        t.sandbox,
        t.broker,
        t.other,
      ],
      env: {
        DENO_AUDIT_PERMISSIONS: log,
        DENO_V8_FLAGS: "--max-old-space-size=64",
        DENO_CERT: "/etc/hostname",
        HTTP_PROXY: `http://${t.other}`,
        HTTPS_PROXY: `http://${t.other}`,
        ALL_PROXY: `http://${t.other}`,
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    assert(r.success, dec.decode(r.stderr));
    const out = JSON.parse(dec.decode(r.stdout)) as Record<string, string>;
    // Arguments reached the program as plain arguments, nothing more.
    assertArrayIncludes(out.args as unknown as string[], ["--allow-all"]);
    assertEquals([out.readInside, out.spawnAllowed], ["ok", "ok"]);
    for (
      const k of [
        "connectBroker",
        "readEtc",
        "readBeside",
        "writeTmp",
        "connectOther",
        "fetchOther",
        "spawnLs",
        "spawnSh",
        "envAudit",
      ]
    ) {
      assertStringIncludes(out[k], "NotCapable", `${k}: ${out[k]}`);
    }
    // Not granted ("prompt" under --no-prompt means refused on use).
    assertNotEquals(out.readRoot, "granted");
    assertNotEquals(out.runAny, "granted");

    // The audit summary shows every refused access outside the table.
    const parsed = parseAuditLog(await Deno.readTextFile(log));
    const report = auditRecords(
      parsed.records,
      roleTable({ role: "wrapper", sandbox: t.sandbox, broker: t.broker }),
      { role: "wrapper" },
    );
    const outside = report.outside.map((o) => `${o.kind} ${o.value}`);
    assertArrayIncludes(outside, [
      "read /etc/hostname",
      `read ${t.dir}/outside.txt`,
      "write /tmp/splitpilot-deny-probe",
      `net ${t.other}`,
      `net ${t.broker}`,
      "env DENO_AUDIT_PERMISSIONS",
    ]);
    const text = formatAuditReport(report);
    assertStringIncludes(text, `net ${t.other}`);
    assertStringIncludes(text, "result: FAIL");
    // Run checks never reach the log on Deno 2.9.6; the summary says so.
    assertEquals(parsed.records.filter((x) => x.permission === "run"), []);
    assertStringIncludes(text, "[not logged by Deno]");
  } finally {
    await t.close();
  }
});

Deno.test("built wrapper: the shipped wrapper pointed at a second port by its start frame cannot reach it", async () => {
  const t = await setup();
  try {
    const ca = await createCa();
    const token = await (await TokenIssuer.fromPem(ca)).issue({
      role: "JOB",
      subject: "jdoe",
      owner: "jdoe",
      jobId: "7",
      ttlSeconds: 600,
    });
    // In the sandbox: the only place the wrapper may write.
    const log = `${t.sandbox}/wrapper-audit.jsonl`;
    const child = new Deno.Command(`${t.shipped}/run`, {
      args: [t.sandbox, "--start-timeout", "10000"],
      env: { DENO_AUDIT_PERMISSIONS: log },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const errText = new Response(child.stderr).text();
    const writer = new FrameWriter(child.stdin);
    const frames = readFrames(child.stdout);
    const hello = await frames.next();
    assertEquals(hello.value?.type, FrameType.Hello);
    await writer.send(
      FrameType.Start,
      {
        jobId: "7",
        jdl: 'Executable = "/bin/true";\nTTL = 60;\n',
        user: "jdoe",
        token: { ...token, caPem: ca.certPem },
        broker: `https://${t.other}`,
        resubmission: 0,
        siteMap: {},
        env: {},
      } satisfies StartMessage,
    );
    let end: EndMessage | undefined;
    for await (const f of frames) {
      if (f.type === FrameType.End) end = decodeJson<EndMessage>(f);
    }
    await writer.close().catch(() => {});
    await child.status;
    const stderr = await errText;
    assert(end, stderr);
    assertStringIncludes(stderr, `Requires net access to "${t.other}"`);
    const report = auditRecords(
      parseAuditLog(await Deno.readTextFile(log)).records,
      roleTable({ role: "wrapper", sandbox: t.sandbox, broker: t.broker }),
      { role: "wrapper" },
    );
    assertEquals(
      report.outside.map((o) => `${o.kind} ${o.value}`),
      [`net ${t.other}`],
    );
  } finally {
    await t.close();
  }
});
