/**
 * `deno task demo`: one real grid in a temp dir. Creates a CA, starts the
 * broker (its own process, broker permissions), submits three sample jobs
 * as user `jdoe`, runs one agent (agent permissions; wrappers in a
 * container when the host has one) until the queue is empty, and prints
 * what happened. Exits 0 only if every job ended as expected.
 *
 * `--scale` runs the same on three broker replicas sharing one PostgreSQL
 * ({@link ./demo_scale.ts}) and prints which replica served what.
 *
 * Environment: `USE_CONTAINERS` (default auto), `SPLITPILOT_KEEP=1` keeps
 * the temp dir. With `USE_CONTAINERS=docker` the agent uses the daemon
 * `DOCKER_HOST` names, else the demo starts a private one (as the tests
 * do) and stops it at the end.
 *
 * @module
 */
import { curlMetrics } from "./_curl_metrics.ts";
import { BrokerClient, readTokenDir } from "../src/client/broker_client.ts";
import { parseRuntimeName } from "../src/container/select.ts";
import {
  agentCommand,
  repoRoot,
  startBrokerProcess,
} from "../src/launch/role_process.ts";
import { writeTokenDir } from "../src/launch/token_files.ts";
import { ensureImage } from "./build_image.ts";
import {
  hasImage,
  importImage,
  type PrivateDockerd,
  startPrivateDockerd,
} from "./private_dockerd.ts";
import { createCa, TokenIssuer } from "../src/token/mod.ts";
import { type Brokers, showReplicas, startScaled } from "./demo_scale.ts";

/** A sample job and the state it must end in. */
interface Sample {
  file: string;
  expect: string;
  exitCode: number;
}

const SAMPLES: Sample[] = [
  { file: "hello.jdl", expect: "DONE", exitCode: 0 },
  { file: "analyse.jdl", expect: "DONE", exitCode: 0 },
  { file: "fail.jdl", expect: "ERROR_E", exitCode: 3 },
];

/** Runs the demo; returns the exit code. */
export async function demo(
  opts: { scale?: boolean } = {},
): Promise<number> {
  const t0 = performance.now();
  const root = repoRoot();
  const tmp = await Deno.makeTempDir({ prefix: "splitpilot-demo-" });
  // As root the agent runs payloads as nobody: its work root below must
  // be reachable (traversable, not listable; README "Threat model").
  await Deno.chmod(tmp, 0o711);
  const state = `${tmp}/state`;
  const containers = parseRuntimeName(Deno.env.get("USE_CONTAINERS") ?? "auto");
  console.log(`splitpilot demo in ${tmp}`);
  await Deno.mkdir(`${state}/ca`, { recursive: true, mode: 0o700 });
  const ca = await createCa();
  await Deno.writeTextFile(`${state}/ca/ca.pem`, ca.certPem);
  await Deno.writeTextFile(`${state}/ca/ca.key`, ca.keyPem, { mode: 0o600 });
  const issuer = await TokenIssuer.fromPem(ca);
  await writeTokenDir(
    `${tmp}/agent-token`,
    await issuer.issue({
      role: "JOB_AGENT",
      subject: "demo-site",
      ttlSeconds: 7200,
    }),
    ca.certPem,
  );
  await writeTokenDir(
    `${tmp}/user-token`,
    await issuer.issue({ role: "USER", subject: "jdoe", ttlSeconds: 7200 }),
    ca.certPem,
  );
  // An operator's token: admin USER tokens may scrape the broker's metrics.
  await writeTokenDir(
    `${tmp}/admin-token`,
    await issuer.issue({
      role: "USER",
      subject: "ops",
      admin: true,
      ttlSeconds: 7200,
    }),
    ca.certPem,
  );
  const broker: Brokers = opts.scale
    ? await startScaled(tmp, ca)
    : await startBrokerProcess({ stateDir: state }).then((b) => {
      console.log(`broker: ${b.url} (pid ${b.child.pid})`);
      return { urls: [b.url], stop: () => b.stop() };
    });
  const user = new BrokerClient(
    broker.urls,
    await readTokenDir(`${tmp}/user-token`),
  );
  let ok = false;
  let dockerd: PrivateDockerd | undefined;
  try {
    for (const f of ["analyse.sh", "input.txt"]) {
      await user.upload(
        `/jdoe/demo/${f}`,
        await Deno.readFile(`${root}/jobs/${f}`),
      );
    }
    const submitted: { id: string; sample: Sample }[] = [];
    for (const sample of SAMPLES) {
      const jdl = await Deno.readTextFile(`${root}/jobs/${sample.file}`);
      const r = await user.request("POST", "/api/v1/jobs", { body: jdl });
      const { jobId } = await r.json();
      submitted.push({ id: jobId, sample });
      console.log(`submitted ${sample.file} as job ${jobId}`);
    }
    // Runtimes without a host-rootfs mode (podman, apptainer, …) need a
    // directory image: the cached debootstrap one, as the software dir's
    // default image (the agent's default software dir is <work>/software).
    if (
      containers !== "none" && containers !== "bwrap" && containers !== "auto"
    ) {
      const image = await ensureImage();
      await Deno.mkdir(`${tmp}/work/software/containers`, { recursive: true });
      await Deno.symlink(
        `${image.softwareDir}/containers/default`,
        `${tmp}/work/software/containers/default`,
      );
    }
    // docker: the daemon the user names with DOCKER_HOST, else a private
    // one like the tests' (no bridge, own data-root), with the image.
    const agentEnv: Record<string, string> = { NO_COLOR: "1" };
    const named = Deno.env.get("DOCKER_HOST");
    if (containers === "docker" && !named) {
      dockerd = await startPrivateDockerd();
      const ref = await dockerd.importImage(
        (await ensureImage()).dir,
        "default",
      );
      agentEnv.DOCKER_HOST = dockerd.host;
      console.log(`private dockerd: ${dockerd.host}, image ${ref}`);
    } else if (
      containers === "docker" &&
      !(await hasImage(named!, "splitpilot/default:latest"))
    ) {
      const ref = await importImage(
        named!,
        (await ensureImage()).dir,
        "default",
      );
      console.log(`imported ${ref} into the daemon at ${named}`);
    }
    const { cmd, args } = agentCommand({
      broker: broker.urls.join(","),
      tokenDir: `${tmp}/agent-token`,
      workRoot: `${tmp}/work`,
      containers,
      extraArgs: ["--max-empty", "1", "--heartbeat", "5"],
    });
    const agentChild = new Deno.Command(cmd, {
      args,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
      env: agentEnv,
    }).spawn();
    // Tee the agent's log to the terminal (when SPLITPILOT_VERBOSE=1) while keeping it.
    const verbose = Deno.env.get("SPLITPILOT_VERBOSE") === "1";
    const logParts: string[] = [];
    const logDone = (async () => {
      for await (
        const chunk of agentChild.stderr.pipeThrough(new TextDecoderStream())
      ) {
        logParts.push(chunk);
        if (verbose) Deno.stderr.writeSync(new TextEncoder().encode(chunk));
      }
    })();
    const agent = await agentChild.status;
    await logDone;
    const agentLog = logParts.join("");
    const runtime = /container runtime: (\S+)/.exec(agentLog)?.[1] ?? "?";
    if (!agent.success) {
      console.error(agentLog);
      console.error(`error: the agent exited with code ${agent.code}`);
      if (agentLog.includes("auto never falls back to none")) {
        console.error(
          'hint: no container runtime works here; to run the demo without one (Deno permissions only, see README "Threat model"): USE_CONTAINERS=none npx -y deno@2.9.6 task demo',
        );
      }
      return 1;
    }
    const rows: string[][] = [];
    ok = true;
    for (const s of submitted) {
      const job = await user.json<{ state: string; exitCode: number | null }>(
        "GET",
        `/api/v1/jobs/${s.id}`,
      );
      const files = await user.json<{ files: { lfn: string; size: number }[] }>(
        "GET",
        `/api/v1/files?prefix=${encodeURIComponent(`/jdoe/jobs/${s.id}/`)}`,
      );
      const good = job!.state === s.sample.expect &&
        job!.exitCode === s.sample.exitCode;
      ok &&= good;
      rows.push([
        s.id,
        s.sample.file,
        job!.state,
        String(job!.exitCode ?? "-"),
        files!.files.filter((f) => !f.lfn.includes("/.attempt/")).map((f) =>
          `${f.lfn.split("/").pop()} (${f.size} B)`
        ).join(
          ", ",
        ) || "-",
        good
          ? "as expected"
          : `EXPECTED ${s.sample.expect}/${s.sample.exitCode}`,
      ]);
    }
    printTable(["job", "jdl", "state", "exit", "outputs", "check"], rows);
    // The permission audit is on by default: each job's trace has its line.
    console.log("\npermission audit of each job's wrapper (from its trace):");
    for (const s of submitted) {
      const t = await user.json<{ trace: { actor: string; reason: string }[] }>(
        "GET",
        `/api/v1/jobs/${s.id}/trace`,
      );
      const line = t!.trace.find((e) =>
        e.actor.startsWith("JOB_AGENT:") && e.reason.startsWith("audit:")
      )?.reason;
      console.log(`  job ${s.id}: ${line ?? "NO AUDIT LINE"}`);
      // Lines that are no audit record (a runtime's own warning on the
      // wrapper's stderr) are counted after the verdict, not held against it.
      ok &&= line !== undefined && /; 0 outside the table(;|$)/.test(line);
    }
    console.log(
      `\ncontainer runtime used by the agent: ${runtime}${
        runtime === "bwrap" ? " (wrapper ran inside bubblewrap)" : ""
      }`,
    );
    const summary = /\[agent\] probe .*/g;
    for (const m of agentLog.match(summary) ?? []) console.log(m);
    const first = submitted[0].id;
    const out = await user.download(`/jdoe/jobs/${first}/result.txt`);
    console.log(`job ${first} result.txt: ${(await out.text()).trim()}`);
    ok = await showMetrics(broker.urls[0], `${tmp}/admin-token`) && ok;
    if (opts.scale) {
      ok = await showReplicas(broker.urls, `${tmp}/admin-token`) && ok;
    }
    console.log(`demo took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    if (!ok) {
      console.error("error: some jobs did not end in their expected state");
    }
  } finally {
    user.close();
    await broker.stop();
    await dockerd?.stop();
    if (Deno.env.get("SPLITPILOT_KEEP") !== "1") {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  }
  return ok ? 0 : 1;
}

function printTable(head: string[], rows: string[][]) {
  const w = head.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => r[i].length))
  );
  const line = (r: string[]) => r.map((c, i) => c.padEnd(w[i])).join("  ");
  console.log(line(head));
  console.log(w.map((n) => "-".repeat(n)).join("  "));
  for (const r of rows) console.log(line(r));
}

if (import.meta.main) {
  const unknown = Deno.args.filter((a) => a !== "--scale");
  if (unknown.length > 0) {
    console.error(
      `error: unknown argument ${unknown[0]} (usage: deno task demo [--scale])`,
    );
    Deno.exit(2);
  }
  Deno.exit(await demo({ scale: Deno.args.includes("--scale") }));
}

/**
 * What an operator's Prometheus sees: `curl` with the admin token on
 * `GET /metrics`, the job counts by state printed. False when the DONE
 * count is missing.
 */
async function showMetrics(url: string, tokenDir: string): Promise<boolean> {
  const out = await curlMetrics(url, tokenDir);
  const text = out.text;
  const jobs = text.split("\n").filter((l) =>
    l.startsWith("splitpilot_jobs{") ||
    l.startsWith("splitpilot_audit_verdicts_total{")
  );
  console.log(`\nmetrics (curl ${url}/metrics with an admin token):`);
  for (const l of jobs) console.log(`  ${l}`);
  if (
    !out.success ||
    !jobs.some((l) => l.startsWith('splitpilot_jobs{state="DONE"}'))
  ) {
    console.error(
      `error: no splitpilot_jobs{state="DONE"} in the metrics: ${out.error}`,
    );
    return false;
  }
  return true;
}
