/**
 * A private docker daemon for tests, the demo and the bench: its own
 * data-root, exec-root, socket and pidfile in a temp dir, so it never
 * touches a system daemon, and `--bridge=none --iptables=false
 * --ip-masq=false`, so it makes no bridge, no private-range addresses and
 * no iptables rules (containers get only the `host` or `none` network).
 * Images come from `scripts/build_image.ts` through `docker import`,
 * tagged by content hash; nothing comes from a registry.
 *
 * ```ts
 * await using d = await startPrivateDockerd();
 * const ref = await d.importImage(rootfsDir, "default"); // splitpilot/default:<sha256 prefix>, also :latest
 * // DOCKER_HOST=d.host docker run …
 * ```
 *
 * Needs root and Debian's `docker.io` (dockerd 20.10). The client is
 * `/usr/bin/docker` from the same package: a newer standalone client
 * earlier on PATH may speak an API version the daemon refuses.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { DOCKER_REPOSITORY } from "../src/container/docker.ts";

/** The daemon from docker.io. */
export const DOCKERD = "/usr/sbin/dockerd";
/** The client from docker.io (matches the daemon's API). */
export const DOCKER_CLIENT = "/usr/bin/docker";

/** A running private daemon. */
export interface PrivateDockerd {
  /** `unix://…/docker.sock`, for `-H` or `DOCKER_HOST`. */
  host: string;
  /** Its temp dir (data-root, exec-root, socket, pidfile, log). */
  dir: string;
  /** The daemon's pid. */
  pid: number;
  /** Runs the client against this daemon; throws with stderr on failure. */
  docker(args: string[], stdin?: ReadableStream<Uint8Array>): Promise<string>;
  /**
   * Imports a directory rootfs as `splitpilot/NAME:<content hash>` and
   * tags it `:latest`; returns the hash-tagged reference.
   */
  importImage(rootfs: string, name: string): Promise<string>;
  /** Removes every container, stops the daemon, removes the temp dir. */
  stop(): Promise<void>;
  /** Same as {@link PrivateDockerd.stop}. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Whether this host can run a private daemon (docker.io installed). */
export function dockerInstalled(): boolean {
  try {
    return Deno.statSync(DOCKERD).isFile &&
      Deno.statSync(DOCKER_CLIENT).isFile;
  } catch {
    return false;
  }
}

async function runClient(
  host: string,
  args: string[],
  stdin?: ReadableStream<Uint8Array>,
): Promise<string> {
  const child = new Deno.Command(DOCKER_CLIENT, {
    args: ["-H", host, ...args],
    stdin: stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
    clearEnv: true,
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/nonexistent" },
  }).spawn();
  const piping = stdin ? stdin.pipeTo(child.stdin) : Promise.resolve();
  const [out] = await Promise.all([child.output(), piping]);
  const dec = new TextDecoder();
  if (!out.success) {
    throw new Error(
      `docker ${args[0]} failed (exit ${out.code}): ${
        dec.decode(out.stderr).trim()
      }`,
    );
  }
  return dec.decode(out.stdout).trim();
}

/** Starts a private daemon; waits until it answers (default 60 s). */
export async function startPrivateDockerd(
  opts: { timeoutMs?: number } = {},
): Promise<PrivateDockerd> {
  // Short: the socket path must fit in sun_path (108 bytes).
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "spd-" });
  const host = `unix://${dir}/docker.sock`;
  const script = `exec "$0" "$@" >"${dir}/log" 2>&1`;
  const daemon = new Deno.Command("/bin/sh", {
    args: [
      "-c",
      script,
      DOCKERD,
      "--bridge=none",
      "--iptables=false",
      "--ip-masq=false",
      "--data-root",
      `${dir}/data`,
      "--exec-root",
      `${dir}/exec`,
      "--pidfile",
      `${dir}/pid`,
      "-H",
      host,
      "--log-level",
      "warn",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  let exited = false;
  const status = daemon.status.then((s) => {
    exited = true;
    return s;
  });
  const log = () => Deno.readTextFile(`${dir}/log`).catch(() => "");
  const end = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    if (exited) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw new Error(`dockerd exited at start: ${(await log()).trim()}`);
    }
    const ok = await runClient(host, [
      "version",
      "--format",
      "{{.Server.Version}}",
    ])
      .then(() => true, () => false);
    if (ok) break;
    if (Date.now() > end) {
      daemon.kill("SIGKILL");
      await status;
      throw new Error(
        `dockerd did not answer in time: ${(await log()).trim()}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  let stopped: Promise<void> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      const ids = await runClient(host, ["ps", "-aq"]).catch(() => "");
      if (ids) {
        await runClient(host, ["rm", "-f", ...ids.split("\n")]).catch(() => {});
      }
      daemon.kill("SIGTERM");
      const timer = setTimeout(() => {
        try {
          daemon.kill("SIGKILL");
        } catch { /* gone */ }
      }, 30_000);
      await status;
      clearTimeout(timer);
      // A clean shutdown unmounts everything; a killed one may not.
      await new Deno.Command("/bin/sh", {
        args: [
          "-c",
          `grep -o " ${dir}/[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l`,
        ],
        stdout: "null",
        stderr: "null",
      }).output().catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    })();
  const docker = (args: string[], stdin?: ReadableStream<Uint8Array>) =>
    runClient(host, args, stdin);
  return {
    host,
    dir,
    pid: daemon.pid,
    docker,
    importImage: (rootfs, name) => importImage(host, rootfs, name),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/**
 * Imports directory rootfs `rootfs` into the daemon at `host` as
 * `splitpilot/NAME:<content hash>` (sha-256 of a sorted tar, 16 hex
 * digits) and tags it `:latest`; returns the hash-tagged reference.
 */
export async function importImage(
  host: string,
  rootfs: string,
  name: string,
): Promise<string> {
  const docker = (args: string[], stdin?: ReadableStream<Uint8Array>) =>
    runClient(host, args, stdin);
  const tar = new Deno.Command("/bin/tar", {
    args: [
      "-C",
      rootfs,
      "--sort=name",
      "--numeric-owner",
      // Hard links made by other readers of the shared image (cp -al)
      // change inode ctimes, not contents.
      "--warning=no-file-changed",
      "-c",
      ".",
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const hash = createHash("sha256");
  const [toHash, toDocker] = tar.stdout.tee();
  const tarErr = new Response(tar.stderr).text();
  const hashed = (async () => {
    for await (const chunk of toHash) hash.update(chunk);
  })();
  const tmpRef =
    `${DOCKER_REPOSITORY}/${name}:importing-${crypto.randomUUID()}`;
  await docker(["import", "-", tmpRef], toDocker);
  await hashed;
  // Exit 1 with nothing said: only the (silenced) "file changed" case.
  const st = await tar.status;
  const err = (await tarErr).trim();
  if (!st.success && !(st.code === 1 && err === "")) {
    throw new Error(`tar of ${rootfs} failed: ${err}`);
  }
  const ref = `${DOCKER_REPOSITORY}/${name}:${hash.digest("hex").slice(0, 16)}`;
  await docker(["tag", tmpRef, ref]);
  await docker(["tag", ref, `${DOCKER_REPOSITORY}/${name}:latest`]);
  await docker(["rmi", tmpRef]);
  return ref;
}

/** Whether the daemon at `host` has image `ref`. */
export async function hasImage(host: string, ref: string): Promise<boolean> {
  return await runClient(host, ["image", "inspect", "--format", "{{.Id}}", ref])
    .then(() => true, () => false);
}
