/**
 * A throwaway PostgreSQL cluster (for `demo --scale`, the replica bench and
 * the tests): `initdb` into a temp dir as the `postgres` user (the server
 * refuses to run as root), started on a free loopback port with its socket
 * in the same dir, removed again by `stop`. Durability is off (fsync,
 * full-page writes): the cluster lives as long as one run.
 *
 * @module
 */
import { freePort } from "../src/launch/role_process.ts";

/** Where Debian puts the server binaries (newest version first). */
export function postgresBin(): string | undefined {
  let versions: string[] = [];
  try {
    versions = [...Deno.readDirSync("/usr/lib/postgresql")]
      .map((e) => e.name).filter((n) => /^\d+$/.test(n))
      .sort((a, b) => Number(b) - Number(a));
  } catch { /* not installed */ }
  for (const v of versions) {
    const bin = `/usr/lib/postgresql/${v}/bin`;
    try {
      if (Deno.statSync(`${bin}/pg_ctl`).isFile) return bin;
    } catch { /* incomplete */ }
  }
  return undefined;
}

/** A running throwaway cluster. */
export interface TestPostgres {
  /** Connection URL of the `postgres` database (user `postgres`, trust). */
  url: string;
  /** Port on 127.0.0.1. */
  port: number;
  /** The cluster's data directory (holds `postmaster.pid`). */
  dataDir: string;
  /** Creates a fresh empty database and returns its URL. */
  createDatabase(): Promise<string>;
  /** Stops the server (fast shutdown) and removes its directory. */
  stop(): Promise<void>;
}

async function run(
  cmd: string,
  args: string[],
  what: string,
): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  const text = new TextDecoder().decode(out.stdout) +
    new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${what} failed: ${text.trim()}`);
  return text;
}

let root: boolean | undefined;

/** Whether we run as root (`id -u`: no `--allow-sys` needed). */
async function isRoot(): Promise<boolean> {
  root ??= (await run("id", ["-u"], "id -u")).trim() === "0";
  return root;
}

function asPostgres(bin: string, args: string[]): [string, string[]] {
  // As root, drop to the postgres user; as anyone else, run directly.
  return root
    ? ["runuser", ["-u", "postgres", "--", bin, ...args]]
    : [bin, args];
}

let databases = 0;

/**
 * Starts a cluster. Throws with the reason when PostgreSQL is not
 * installed (callers gate the test with {@link needsPostgres}).
 *
 * @example
 * ```ts ignore
 * const pg = await startPostgres();
 * try {
 *   const url = await pg.createDatabase();
 * } finally {
 *   await pg.stop();
 * }
 * ```
 */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = postgresBin();
  if (bin === undefined) {
    throw new Error(
      "PostgreSQL is not installed (apt-get install postgresql; .ci/run does)",
    );
  }
  const dir = await Deno.makeTempDir({ prefix: "splitpilot-pg-" });
  const data = `${dir}/data`;
  let started = false;
  const cleanup = async () => {
    if (started) {
      const [c, a] = asPostgres(`${bin}/pg_ctl`, [
        "-D",
        data,
        "-m",
        "immediate",
        "-w",
        "stop",
      ]);
      await run(c, a, "pg_ctl stop").catch(() => {});
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    await Deno.mkdir(data);
    if (await isRoot()) {
      await run("chown", ["-R", "postgres:postgres", dir], "chown");
    }
    let [c, a] = asPostgres(`${bin}/initdb`, [
      "-D",
      data,
      "-A",
      "trust",
      "-U",
      "postgres",
      "--no-sync",
      "-E",
      "UTF8",
      "--locale=C",
    ]);
    await run(c, a, "initdb");
    // A few tries: the free port may be taken by someone else meanwhile.
    let port = 0;
    for (let attempt = 0;; attempt++) {
      port = freePort();
      [c, a] = asPostgres(`${bin}/pg_ctl`, [
        "-D",
        data,
        "-l",
        `${data}/server.log`,
        "-w",
        "-t",
        "120",
        "-o",
        [
          `-k ${data} -p ${port} -c listen_addresses=127.0.0.1`,
          "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
          "-c max_connections=300 -c shared_buffers=64MB",
        ].join(" "),
        "start",
      ]);
      try {
        await run(c, a, "pg_ctl start");
        started = true;
        break;
      } catch (e) {
        if (attempt >= 3) {
          const log = await Deno.readTextFile(`${data}/server.log`)
            .catch(() => "");
          throw new Error(`${(e as Error).message}\n${log.slice(-2000)}`);
        }
      }
    }
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    const psql = (sql: string) => {
      const [pc, pa] = asPostgres(`${bin}/psql`, [
        "-h",
        "127.0.0.1",
        "-p",
        String(port),
        "-U",
        "postgres",
        "-d",
        "postgres",
        "-v",
        "ON_ERROR_STOP=1",
        "-c",
        sql,
      ]);
      return run(pc, pa, "psql");
    };
    return {
      url,
      port,
      dataDir: data,
      createDatabase: async () => {
        const name = `t${Deno.pid}_${++databases}`;
        await psql(`CREATE DATABASE ${name}`);
        return `postgres://postgres@127.0.0.1:${port}/${name}`;
      },
      stop: cleanup,
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
