/**
 * What only docker has: a private daemon that makes no bridge, the
 * agent's sweep of labelled leftovers, image names mapped onto tags with
 * `latest` switched by retagging, and the job's limits on the container.
 * Runs in CI as root against Debian's docker.io; fails there, not skips,
 * when it is missing.
 */
import {
  assertEquals,
  assertNotEquals,
  assertStringIncludes,
} from "@std/assert";
import { startPrivateDockerd } from "../scripts/private_dockerd.ts";
import { DOCKER_LABELS, DOCKER_PAYLOAD_USER } from "../src/container/docker.ts";
import { parseJdl } from "../src/jdl/mod.ts";
import { kernelLimits } from "../src/container/kernel_limits.ts";
import { type Grid, startGrid } from "./_grid.ts";
import { needsDocker, withDocker } from "./_runtimes.ts";
import { cachedImage, needsImage } from "./_software.ts";
import { jobOutput } from "./_samples.ts";

async function jobState(grid: Grid, id: string) {
  return (await grid.user.json<{ state: string }>(
    "GET",
    `/api/v1/jobs/${id}`,
  ))!.state;
}

/** Interfaces a docker daemon would add (bridges, veths). */
async function dockerInterfaces(): Promise<string[]> {
  // Deno wants --allow-all for any read below /sys: ask ls.
  const ls = await new Deno.Command("/bin/ls", {
    args: ["-1", "/sys/class/net"],
    stdout: "piped",
  }).output();
  assertEquals(ls.success, true);
  return new TextDecoder().decode(ls.stdout).split("\n")
    .filter((n) => /^(docker|br-|veth)/.test(n)).sort();
}

Deno.test({
  name:
    "docker: the private dockerd makes no bridge (no docker0, during or after) and runs host and none networks",
  ignore: needsDocker() || needsImage(),
  fn: async () => {
    const before = await dockerInterfaces();
    assertEquals(before.includes("docker0"), false, "docker0 before the test");
    const d = await startPrivateDockerd();
    try {
      const { dir } = await cachedImage();
      await d.importImage(dir, "default");
      assertEquals(await dockerInterfaces(), before);
      for (const net of ["host", "none"]) {
        assertEquals(
          await d.docker([
            "run",
            "--rm",
            "--network",
            net,
            "splitpilot/default:latest",
            "/bin/echo",
            net,
          ]),
          net,
        );
      }
      // No bridge network exists to attach a container to.
      const nets = await d.docker(["network", "ls", "--format", "{{.Name}}"]);
      assertEquals(nets.split("\n").includes("bridge"), false, nets);
      assertEquals(await dockerInterfaces(), before);
    } finally {
      await d.stop();
    }
    assertEquals(await dockerInterfaces(), before);
  },
});

Deno.test({
  name:
    "docker: the agent removes containers an earlier agent of its work root left, and no others",
  ignore: needsDocker() || needsImage(),
  fn: () =>
    withDocker(async (d) => {
      const grid = await startGrid();
      try {
        const work = `${grid.dir}/work`;
        const leftover = (root: string) =>
          d.docker([
            "run",
            "-d",
            "--network",
            "none",
            "--label",
            `${DOCKER_LABELS.work}=${root}`,
            "splitpilot/default:latest",
            "/bin/sleep",
            "600",
          ]);
        const ours = await leftover(work);
        const theirs = await leftover(`${grid.dir}/other-work`);
        await grid.submit(`Executable = "/bin/true";\nTTL = 300;`);
        const agent = await grid.runAgent({
          containers: "docker",
          env: { DOCKER_HOST: d.host },
        });
        assertEquals(agent.code, 0, agent.log);
        assertStringIncludes(
          agent.log,
          `docker: removed 1 container(s) an earlier agent of ${work} left`,
        );
        const left = await d.docker(["ps", "-aq", "--no-trunc"]);
        assertEquals(left.includes(ours), false, left);
        assertEquals(left.includes(theirs), true, left);
      } finally {
        await grid.close();
      }
    }),
});

Deno.test({
  name:
    "docker: Container picks splitpilot/NAME; latest switches by retagging while a running job keeps its image",
  ignore: needsDocker() || needsImage(),
  fn: () =>
    withDocker(async (d) => {
      const grid = await startGrid();
      const tmp = await Deno.makeTempDir({ prefix: "splitpilot-site-" });
      try {
        const cache = await cachedImage();
        const refs: Record<string, string> = {};
        for (const v of ["v1", "v2"]) {
          const cp = await new Deno.Command("/bin/cp", {
            args: ["-al", cache.dir, `${tmp}/${v}`],
          }).output();
          assertEquals(cp.success, true);
          await Deno.remove(`${tmp}/${v}/etc/splitpilot-image`).catch(() => {});
          await Deno.writeTextFile(
            `${tmp}/${v}/etc/splitpilot-image`,
            `${v}\n`,
          );
          refs[v] = await d.importImage(`${tmp}/${v}`, "site");
        }
        assertNotEquals(refs.v1, refs.v2, "tags are content hashes");
        await d.docker(["tag", refs.v1, "splitpilot/site:latest"]);
        const probe = (name: string, extra: string) =>
          `Container = "site";
Executable = "/bin/sh";
Arguments = "-c '${extra} cat /etc/splitpilot-image > ${name}'";
OutputFile = {"${name}"};
TTL = 300;`;
        const first = await grid.submit(probe("first.txt", "sleep 3;"));
        const agentRun = grid.runAgent({
          containers: "docker",
          env: { DOCKER_HOST: d.host },
        });
        while ((await jobState(grid, first)) !== "RUNNING") {
          await new Promise((r) => setTimeout(r, 50));
        }
        await d.docker(["tag", refs.v2, "splitpilot/site:latest"]);
        const second = await grid.submit(probe("second.txt", ""));
        const agent = await agentRun;
        assertEquals(agent.code, 0, agent.log);
        assertEquals(await jobState(grid, first), "DONE", agent.log);
        assertEquals(await jobState(grid, second), "DONE", agent.log);
        assertEquals(await jobOutput(grid, first, "first.txt"), "v1\n");
        assertEquals(await jobOutput(grid, second, "second.txt"), "v2\n");
      } finally {
        await Deno.remove(tmp, { recursive: true }).catch(() => {});
        await grid.close();
      }
    }),
});

Deno.test({
  name:
    "docker: the container gets --memory from the job's MemorySize, a pids limit, a sized /tmp and the payload uid",
  ignore: needsDocker() || needsImage(),
  fn: () =>
    withDocker(async (d) => {
      const grid = await startGrid();
      try {
        const jdl = `Executable = "/bin/sh";
Arguments = "-c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max > limits.txt; df -B1 --output=size /tmp | tail -n 1 >> limits.txt; id -u >> limits.txt'";
OutputFile = {"limits.txt"};
MemorySize = "200MB";
TTL = 300;`;
        const id = await grid.submit(jdl);
        const agent = await grid.runAgent({
          containers: "docker",
          env: { DOCKER_HOST: d.host },
        });
        assertEquals(agent.code, 0, agent.log);
        assertEquals(await jobState(grid, id), "DONE", agent.log);
        const [mem, pids, tmp, uid] = (await jobOutput(grid, id, "limits.txt"))
          .trim().split("\n").map((l) => l.trim());
        const cap = kernelLimits({
          memoryBytes: parseJdl(jdl).memorySize!,
          memoryFactor: 1.2,
        }).memoryBytes!;
        assertEquals(Number(mem), cap);
        assertEquals(pids, "4096");
        // tmpfs rounds to pages; never above the memory cap.
        assertEquals(Number(tmp) <= cap, true, `/tmp ${tmp} > ${cap}`);
        assertEquals(uid, DOCKER_PAYLOAD_USER.split(":")[0]);
      } finally {
        await grid.close();
      }
    }),
});
