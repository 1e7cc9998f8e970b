/**
 * The payload network policy (issue 20), for real: a broker, an agent
 * process, wrappers in bwrap (host rootfs) and podman (the debootstrap
 * image). A job under `Network = "none"` cannot reach a listener on the
 * host's loopback nor the broker, sees none of the host's sockets, and
 * still ends DONE with its outputs (its broker calls went through the
 * agent's relay). The same job under `host` reaches the listener, which
 * shows the probe can fail. A site with `--payload-network none` leaves a
 * job asking for `host` waiting, and `why` says so.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import type { RuntimeName } from "../src/container/driver.ts";
import { type Grid, needs, startGrid } from "./_grid.ts";
import { makeSoftwareDir, needsImage } from "./_software.ts";
import { jobOutput } from "./_samples.ts";

/** A TCP listener on the host's loopback that counts its connections. */
function listener() {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const seen = { accepted: 0 };
  (async () => {
    for await (const c of l) {
      seen.accepted++;
      c.close();
    }
  })().catch(() => {});
  return { port: (l.addr as Deno.NetAddr).port, seen, close: () => l.close() };
}

/** A job that tries both ports and lists the sockets it can see. */
function probeJdl(network: string | undefined, ports: number[]): string {
  return `
    Executable = "/bin/bash";
    Arguments = "-c 'for p in ${
    ports.join(" ")
  }; do if (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo reached $p; else echo blocked $p; fi; done > net.txt; cat /proc/net/tcp >> net.txt; echo done > out.txt'";
    OutputFile = {"net.txt", "out.txt"};
    ${network ? `Network = "${network}";` : ""}
    TTL = 300;`;
}

async function state(grid: Grid, id: string): Promise<string> {
  return (await grid.user.json<{ state: string }>(
    "GET",
    `/api/v1/jobs/${id}`,
  ))!.state;
}

function hexPort(port: number): string {
  return `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
}

async function noneVersusHost(containers: RuntimeName, image: boolean) {
  const grid = await startGrid();
  const l = listener();
  try {
    if (image) await makeSoftwareDir(`${grid.dir}/work`);
    const brokerPort = Number(new URL(grid.url).port);
    const none = await grid.submit(probeJdl("none", [l.port, brokerPort]));
    const host = await grid.submit(probeJdl("host", [l.port]));
    const agent = await grid.runAgent({ containers });
    assertEquals(agent.code, 0, agent.log);
    assertStringIncludes(agent.log, `container runtime: ${containers}`);
    assertEquals(await state(grid, none), "DONE", agent.log);
    assertEquals(await jobOutput(grid, none, "out.txt"), "done\n");
    const net = await jobOutput(grid, none, "net.txt");
    assertStringIncludes(net, `blocked ${l.port}`);
    assertStringIncludes(net, `blocked ${brokerPort}`);
    assertEquals(net.includes("reached"), false, net);
    // Its own namespace: none of the host's listening sockets.
    assertEquals(net.includes(hexPort(l.port)), false, net);
    assertEquals(net.includes(hexPort(brokerPort)), false, net);
    // The control: on the host network the same probe gets through.
    assertEquals(await state(grid, host), "DONE", agent.log);
    const hostNet = await jobOutput(grid, host, "net.txt");
    assertStringIncludes(hostNet, `reached ${l.port}`);
    assert(l.seen.accepted >= 1, "the host job reached the listener");
  } finally {
    l.close();
    await grid.close();
  }
}

Deno.test({
  name:
    "Network = none (bwrap): no host loopback, no broker, no host sockets, still DONE with outputs",
  ignore: needs("bwrap"),
  fn: () => noneVersusHost("bwrap", false),
});

Deno.test({
  name:
    "Network = none (podman, debootstrap image): no host loopback, no broker, still DONE with outputs",
  ignore: needs("podman") || needsImage(),
  fn: () => noneVersusHost("podman", true),
});

Deno.test({
  name:
    "--payload-network none: a job asking for host waits and why says so; others run without network",
  ignore: needs("bwrap"),
  fn: async () => {
    const grid = await startGrid();
    const l = listener();
    try {
      const wantsHost = await grid.submit(probeJdl("host", [l.port]));
      const plain = await grid.submit(probeJdl(undefined, [l.port]));
      const agent = await grid.runAgent({
        containers: "bwrap",
        extraArgs: [
          "--max-empty",
          "1",
          "--heartbeat",
          "2",
          "--payload-network",
          "none",
        ],
      });
      assertEquals(agent.code, 0, agent.log);
      assertStringIncludes(agent.log, "payload network: none by default");
      // The job without Network took the site's default: no network.
      assertEquals(await state(grid, plain), "DONE", agent.log);
      const net = await jobOutput(grid, plain, "net.txt");
      assertStringIncludes(net, `blocked ${l.port}`);
      assertEquals(l.seen.accepted, 0);
      // The one asking for host was never matched here.
      assertEquals(await state(grid, wantsHost), "WAITING");
      const why = await grid.user.json<{ reason: string }>(
        "GET",
        `/api/v1/jobs/${wantsHost}/why`,
      );
      const text = JSON.stringify(why);
      assertStringIncludes(text, 'Network = \\"host\\"');
      assertStringIncludes(text, "--payload-network");
    } finally {
      l.close();
      await grid.close();
    }
  },
});

Deno.test("agent: --payload-network none without a container runtime that can do it is a clear startup error", async () => {
  const grid = await startGrid();
  try {
    const agent = await grid.runAgent({
      containers: "none",
      extraArgs: ["--max-empty", "1", "--payload-network", "none"],
    });
    assert(agent.code !== 0, agent.log);
    assertStringIncludes(
      agent.log,
      "--payload-network none: runtime none cannot run a payload without network",
    );
    const bad = await grid.runAgent({
      containers: "none",
      extraArgs: ["--payload-network", "wifi"],
    });
    assertEquals(bad.code, 2);
    assertStringIncludes(
      bad.log,
      "--payload-network wifi: expected none or host",
    );
  } finally {
    await grid.close();
  }
});
