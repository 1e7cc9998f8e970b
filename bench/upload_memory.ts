/**
 * Broker memory and latency under uploads: the broker runs as its own
 * process (its permission row); RSS is sampled with `ps` every 100 ms.
 *
 * Rows: peak RSS above idle during 1 upload of 1 GiB, during 20 parallel
 * uploads of 20 MB, and health p99 while a 1 GiB upload streams. The goal
 * is a bound per upload that does not grow with the body (README
 * "Operating limits").
 *
 * @module
 */
import type { BenchRow } from "./bench_row.ts";
import { round } from "./_stats.ts";
import { BrokerClient, readTokenDir } from "../src/client/broker_client.ts";
import { startBrokerProcess } from "../src/launch/role_process.ts";
import { writeTokenDir } from "../src/launch/token_files.ts";
import { createCa, TokenIssuer } from "../src/token/mod.ts";

const MiB = 1024 * 1024;

async function rssBytes(pid: number): Promise<number> {
  const out = await new Deno.Command("ps", {
    args: ["-o", "rss=", "-p", String(pid)],
    stdout: "piped",
    stderr: "null",
  }).output();
  return Number(new TextDecoder().decode(out.stdout).trim()) * 1024;
}

function zeros(total: number): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(MiB);
  let sent = 0;
  return new ReadableStream({
    pull(c) {
      if (sent >= total) return c.close();
      const n = Math.min(MiB, total - sent);
      c.enqueue(n === MiB ? chunk : chunk.subarray(0, n));
      sent += n;
    },
  });
}

/** Runs `work` while sampling the peak RSS of `pid`. */
async function peakDuring(pid: number, work: Promise<unknown>) {
  let peak = 0;
  let done = false;
  const sampler = (async () => {
    while (!done) {
      peak = Math.max(peak, await rssBytes(pid).catch(() => 0));
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    await work;
  } finally {
    done = true;
    await sampler;
  }
  return peak;
}

/** The bench entry. */
export async function benchUploadMemory(
  opts: { quick?: boolean } = {},
): Promise<BenchRow[]> {
  const big = opts.quick ? 256 * MiB : 1024 * MiB;
  const dir = await Deno.makeTempDir({ prefix: "splitpilot-bench-up-" });
  const stateDir = `${dir}/state`;
  await Deno.mkdir(`${stateDir}/ca`, { recursive: true });
  const ca = await createCa();
  await Deno.writeTextFile(`${stateDir}/ca/ca.pem`, ca.certPem);
  await Deno.writeTextFile(`${stateDir}/ca/ca.key`, ca.keyPem);
  const issuer = await TokenIssuer.fromPem(ca);
  await writeTokenDir(
    `${dir}/user`,
    await issuer.issue({ role: "USER", subject: "jdoe", ttlSeconds: 3600 }),
    ca.certPem,
  );
  const broker = await startBrokerProcess({ stateDir });
  const token = await readTokenDir(`${dir}/user`);
  const clients: BrokerClient[] = [];
  const client = () => {
    const c = new BrokerClient(broker.url, token);
    clients.push(c);
    return c;
  };
  try {
    const pid = broker.child.pid;
    await client().json("GET", "/api/v1/health");
    const idle = await rssBytes(pid);
    const one = await peakDuring(
      pid,
      client().upload("/jdoe/bench/big", zeros(big)),
    );
    const many = await peakDuring(
      pid,
      Promise.all(
        Array.from(
          { length: 20 },
          (_, i) => client().upload(`/jdoe/bench/m${i}`, zeros(20_000_000)),
        ),
      ),
    );
    // Health latency while one big upload streams.
    const health = client();
    const latencies: number[] = [];
    let uploading = true;
    const upload = client().upload("/jdoe/bench/big2", zeros(big)).finally(
      () => (uploading = false),
    );
    while (uploading) {
      const t0 = performance.now();
      await health.json("GET", "/api/v1/health");
      latencies.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 20));
    }
    await upload;
    latencies.sort((a, b) => a - b);
    const p99 = latencies[Math.floor(latencies.length * 0.99)] ?? NaN;
    const mb = (b: number) => round(b / 1e6);
    const size = `${big / MiB} MiB`;
    return [
      {
        measure: `broker RSS above idle, 1 upload of ${size}`,
        ours: mb(one - idle),
        unit: "MB",
        goal: "≤ 128 (a constant, not the body size)",
        met: one - idle <= 128e6,
        note: `idle ${mb(idle)} MB, peak ${mb(one)} MB`,
      },
      {
        measure: "broker RSS above idle, 20 parallel uploads of 20 MB",
        ours: mb(many - idle),
        unit: "MB",
        goal: "≤ 200",
        met: many - idle <= 200e6,
        note: `peak ${mb(many)} MB`,
      },
      {
        measure: `health p99 during 1 upload of ${size}`,
        ours: round(p99),
        unit: "ms",
        goal: "≤ 100",
        met: p99 <= 100,
        note: `${latencies.length} requests, max ${
          round(latencies[latencies.length - 1] ?? NaN)
        } ms`,
      },
    ];
  } finally {
    for (const c of clients) c.close();
    await broker.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) {
  console.log(JSON.stringify(await benchUploadMemory(), null, 1));
}
