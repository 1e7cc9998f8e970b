/**
 * The audit stream for runtimes that run the wrapper under another uid
 * than the agent's (podman's mapped root, docker's `--user`, singularity's
 * unprivileged uid). There the wrapper's runtime cannot reopen
 * `/dev/stderr`: the pipe belongs to the agent's uid, and a reopen through
 * `/proc/self/fd/2` is checked against the pipe's owner (EACCES). The
 * already open descriptor can still be written, so a small shell in front
 * of the wrapper relays the records to it:
 *
 * 1. `mktemp -d` makes a 0700 directory in the sandbox (the wrapper's one
 *    write grant, which the built launcher requires of the audit path),
 *    owned by the wrapper's uid: a payload under another uid cannot enter
 *    it; and the payload starts only after the wrapper's runtime opened
 *    the FIFO, so moving names later changes nothing.
 * 2. A FIFO in it is `DENO_AUDIT_PERMISSIONS` (a FIFO cannot be truncated).
 * 3. A background loop copies it to stderr line by line: Deno writes one
 *    record per `write`, and the loop writes one line per `printf`, so
 *    records never interleave with the wrapper's own lines.
 *
 * If any step fails the wrapper does not start (exit 125), and the
 * runtime probe, which launches the same way, says so at agent start.
 *
 * @module
 */
import type { RuntimeName } from "../container/driver.ts";

/** Runtimes whose wrapper may not share the agent's uid. */
export const RELAYED_RUNTIMES: ReadonlySet<RuntimeName> = new Set<RuntimeName>([
  "podman",
  "docker",
  "apptainer",
  "singularity",
]);

/** `argv` behind the relay; `workdir` as the container sees the sandbox. */
export function auditRelayArgv(workdir: string, argv: string[]): string[] {
  return [
    "/bin/sh",
    "-c",
    [
      `d=$(mktemp -d "$0/.audit.XXXXXX") && mkfifo -m 600 "$d/s" || exit 125`,
      `(while IFS= read -r l; do printf '%s\\n' "$l"; done < "$d/s" >&2) &`,
      `DENO_AUDIT_PERMISSIONS=$d/s`,
      `export DENO_AUDIT_PERMISSIONS`,
      `exec "$@"`,
    ].join("\n"),
    workdir,
    ...argv,
  ];
}
