/**
 * fd exhaustion: the broker runs with `ulimit -n 256` and is flooded with
 * plain TCP connects from loopback (no TLS, no certificate). Once the
 * flood is released, new mutual-TLS clients must be served again, both
 * when the connection cap keeps the broker below its fd limit and when a
 * misconfigured cap lets it hit EMFILE (the accept self-check re-opens the
 * listener). Counts and waits are bounded; nothing asserts a duration.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { BrokerClient, readTokenDir } from "../src/client/broker_client.ts";
import { brokerCommand, freePort } from "../src/launch/role_process.ts";
import { writeTokenDir } from "../src/launch/token_files.ts";
import { createCa, TokenIssuer } from "../src/token/mod.ts";

const FD_LIMIT = 256;
const FLOOD = 600;

interface Flooded {
  url: string;
  child: Deno.ChildProcess;
  stderr: () => string;
  userTokenDir: string;
  dir: string;
}

async function startLimitedBroker(extraArgs: string[]): Promise<Flooded> {
  const dir = await Deno.makeTempDir({ prefix: "splitpilot-fd-" });
  const stateDir = `${dir}/state`;
  await Deno.mkdir(`${stateDir}/ca`, { recursive: true, mode: 0o700 });
  const ca = await createCa();
  await Deno.writeTextFile(`${stateDir}/ca/ca.pem`, ca.certPem);
  await Deno.writeTextFile(`${stateDir}/ca/ca.key`, ca.keyPem, { mode: 0o600 });
  const issuer = await TokenIssuer.fromPem(ca);
  const userTokenDir = `${dir}/user`;
  await writeTokenDir(
    userTokenDir,
    await issuer.issue({ role: "USER", subject: "jdoe", ttlSeconds: 3600 }),
    ca.certPem,
  );
  const port = freePort();
  const { cmd, args } = brokerCommand({
    stateDir,
    listen: `127.0.0.1:${port}`,
    extraArgs,
  });
  const child = new Deno.Command("/bin/sh", {
    args: ["-c", `ulimit -n ${FD_LIMIT} && exec "$0" "$@"`, cmd, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  let err = "";
  (async () => {
    for await (const t of child.stderr.pipeThrough(new TextDecoderStream())) {
      err += t;
    }
  })().catch(() => {});
  const reader = child.stdout.pipeThrough(new TextDecoderStream())
    .getReader();
  let out = "";
  while (!out.includes("listening on")) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`broker did not start: ${err}`);
    out += value;
  }
  (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })().catch(() => {});
  return {
    url: `https://127.0.0.1:${port}`,
    child,
    stderr: () => err,
    userTokenDir,
    dir,
  };
}

/** Opens up to `n` plain TCP connections (bounded time per connect). */
async function flood(port: number, n: number): Promise<Deno.Conn[]> {
  const conns: Deno.Conn[] = [];
  for (let i = 0; i < n; i++) {
    const pending = Deno.connect({ hostname: "127.0.0.1", port });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<undefined>((r) => {
      timer = setTimeout(() => r(undefined), 2000);
    });
    const conn = await Promise.race([pending, late]).catch(() => undefined)
      .finally(() => clearTimeout(timer));
    if (conn === undefined) {
      // The listen queue is full (SYNs dropped): that is a flood too.
      pending.then((c) => c.close(), () => {});
      break;
    }
    conns.push(conn);
  }
  return conns;
}

/** Health over a fresh mTLS client, retried for up to `tries` seconds. */
async function servedAgain(url: string, tokenDir: string, tries: number) {
  const token = await readTokenDir(tokenDir);
  let last = "";
  for (let i = 0; i < tries; i++) {
    const client = new BrokerClient(url, token, {
      retries: 1,
      headersTimeoutMs: 3000,
    });
    try {
      const h = await client.json<{ ok: boolean }>("GET", "/api/v1/health");
      if (h?.ok) return i;
    } catch (e) {
      last = (e as Error).message;
    } finally {
      client.close();
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`not served after the flood: ${last}`);
}

async function run(extraArgs: string[], check: (b: Flooded) => void) {
  const b = await startLimitedBroker(extraArgs);
  try {
    await servedAgain(b.url, b.userTokenDir, 30);
    const port = Number(new URL(b.url).port);
    const conns = await flood(port, FLOOD);
    assert(conns.length > FD_LIMIT, `flood opened ${conns.length}`);
    console.log(`flood: ${conns.length} connections`);
    await new Promise((r) => setTimeout(r, 2000));
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed by the broker */ }
    }
    // Several mTLS clients in a row, each on a fresh connection.
    await servedAgain(b.url, b.userTokenDir, 90);
    for (let i = 0; i < 5; i++) await servedAgain(b.url, b.userTokenDir, 10);
    check(b);
  } finally {
    try {
      b.child.kill("SIGTERM");
    } catch { /* gone */ }
    const status = await b.child.status;
    await Deno.remove(b.dir, { recursive: true }).catch(() => {});
    assertEquals(status.code === 0 || status.signal === "SIGTERM", true);
  }
}

Deno.test("fd flood: the per-peer limit refuses the excess; new mTLS clients are served after the flood", async () => {
  await run(
    [
      "--max-connections",
      "150",
      "--max-connections-per-peer",
      "100",
      "--accept-check",
      "2",
    ],
    (b) => assertStringIncludes(b.stderr(), "per-peer limit"),
  );
});

Deno.test("fd flood: a cap above the fd limit hits EMFILE; the accept self-check re-opens the listener", async () => {
  await run(
    [
      "--max-connections",
      "2000",
      "--max-connections-per-peer",
      "2000",
      "--accept-check",
      "2",
    ],
    (b) => assertStringIncludes(b.stderr(), "accept path degraded"),
  );
});
