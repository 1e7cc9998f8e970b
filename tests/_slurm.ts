/**
 * Test helper: a one-node Slurm cluster in a temp dir — munged with its own
 * key and socket, slurmctld and slurmd on free loopback ports, a minimal
 * slurm.conf (one node, cons_tres, proctrack/linuxproc, no accounting
 * database) — started as this test's children and stopped afterwards,
 * every job cancelled first. It never touches a system Slurm or munge.
 *
 * @module
 */
import { freePort } from "../src/launch/role_process.ts";
import { IN_CI, which } from "./_grid.ts";

/** A running cluster. */
export interface SlurmCluster {
  /** Its temp dir. */
  dir: string;
  /** `SLURM_CONF` for every Slurm command aimed at it. */
  env: { SLURM_CONF: string };
  /** Runs a Slurm command against it; returns stdout (throws on failure). */
  run(cmd: string, ...args: string[]): Promise<string>;
  /** Cancels every job, stops the daemons, removes the dir. */
  stop(): Promise<void>;
}

const DAEMONS = ["munged", "slurmctld", "slurmd"] as const;

/** `ignore` for tests that need Slurm (never under CI=true, which installs it). */
export function needsSlurm(): boolean {
  return !IN_CI && DAEMONS.some((d) => which(d) === undefined);
}

async function hostname(): Promise<string> {
  const out = await new Deno.Command("hostname", { args: ["-s"] }).output();
  return new TextDecoder().decode(out.stdout).trim();
}

async function waitFor(
  what: string,
  ok: () => Promise<boolean>,
  ms = 30_000,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`slurm: ${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Starts the cluster with `cpus` CPUs on its one node. */
export async function startSlurm(cpus = 2): Promise<SlurmCluster> {
  for (const d of DAEMONS) {
    if (!which(d)) {
      throw new Error(
        `${d} is not installed (apt-get install slurm-wlm munge)`,
      );
    }
  }
  const dir = await Deno.makeTempDir({ prefix: "splitpilot-slurm-" });
  await Deno.chmod(dir, 0o755);
  for (const d of ["munge", "state", "spool", "log"]) {
    await Deno.mkdir(`${dir}/${d}`, { mode: 0o700 });
  }
  const key = crypto.getRandomValues(new Uint8Array(1024));
  await Deno.writeFile(`${dir}/munge/munge.key`, key, { mode: 0o400 });
  const node = await hostname();
  const conf = `${dir}/slurm.conf`;
  await Deno.writeTextFile(
    conf,
    [
      "ClusterName=splitpilot-test",
      `SlurmctldHost=${node}(127.0.0.1)`,
      "SlurmUser=root",
      "SlurmdUser=root",
      `SlurmctldPort=${freePort()}`,
      `SlurmdPort=${freePort()}`,
      "AuthType=auth/munge",
      "CredType=cred/munge",
      `AuthInfo=socket=${dir}/munge/munge.sock`,
      `StateSaveLocation=${dir}/state`,
      `SlurmdSpoolDir=${dir}/spool`,
      `SlurmctldPidFile=${dir}/slurmctld.pid`,
      `SlurmdPidFile=${dir}/slurmd.pid`,
      `SlurmctldLogFile=${dir}/log/slurmctld.log`,
      `SlurmdLogFile=${dir}/log/slurmd.log`,
      "ProctrackType=proctrack/linuxproc",
      "TaskPlugin=task/none",
      "SelectType=select/cons_tres",
      "SelectTypeParameters=CR_Core",
      "SchedulerType=sched/builtin",
      "ReturnToService=2",
      "MpiDefault=none",
      "JobCompType=jobcomp/none",
      "AccountingStorageType=accounting_storage/none",
      "JobAcctGatherType=jobacct_gather/none",
      // Time for the agent to preempt its jobs between SIGTERM and SIGKILL.
      "KillWait=20",
      "MinJobAge=600",
      `NodeName=${node} NodeAddr=127.0.0.1 CPUs=${cpus} State=UNKNOWN`,
      "PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
      "",
    ].join("\n"),
  );
  const env = { SLURM_CONF: conf };
  const children: Deno.ChildProcess[] = [];
  const spawn = (cmd: string, args: string[]) => {
    const c = new Deno.Command(cmd, {
      args,
      env,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    children.push(c);
  };
  const run = async (cmd: string, ...args: string[]) => {
    const out = await new Deno.Command(cmd, { args, env, stdin: "null" })
      .output();
    const dec = new TextDecoder();
    if (out.code !== 0) {
      throw new Error(
        `${cmd} ${args.join(" ")}: exit ${out.code}: ${
          dec.decode(out.stderr).trim()
        }`,
      );
    }
    return dec.decode(out.stdout);
  };
  const stop = async () => {
    try {
      await run("scancel", "--full", "--partition", "test");
      await waitFor(
        "every job ended",
        async () => (await run("squeue", "-h", "-t", "PD,R,CG")).trim() === "",
        60_000,
      ).catch(() => {});
    } catch { /* daemons already gone */ }
    for (const c of children.reverse()) {
      try {
        c.kill("SIGTERM");
      } catch { /* gone */ }
      const t = setTimeout(() => {
        try {
          c.kill("SIGKILL");
        } catch { /* gone */ }
      }, 10_000);
      await c.status;
      clearTimeout(t);
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    spawn("munged", [
      "-F",
      "--force",
      `--key-file=${dir}/munge/munge.key`,
      `--socket=${dir}/munge/munge.sock`,
      `--pid-file=${dir}/munge/munged.pid`,
      `--log-file=${dir}/log/munged.log`,
      `--seed-file=${dir}/munge/seed`,
    ]);
    await waitFor("munged up", async () => {
      try {
        await Deno.stat(`${dir}/munge/munge.sock`);
        return true;
      } catch {
        return false;
      }
    });
    spawn("slurmctld", ["-D", "-c", "-f", conf]);
    spawn("slurmd", ["-D", "-f", conf]);
    await waitFor("the node idle", async () => {
      try {
        return /idle/.test(await run("sinfo", "-h", "-o", "%T"));
      } catch {
        return false;
      }
    }, 60_000);
  } catch (e) {
    await stop();
    throw e;
  }
  return { dir, env, run, stop };
}
