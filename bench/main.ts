/**
 * `deno task bench`: every benchmark entry, one markdown table, each
 * ratio's baseline measured in the same run.
 *
 * ```sh
 * deno task bench [--quick] [--json] [--only launch,pipe] [--verbose]
 * ```
 *
 * Each entry runs in its own child process (this script with `--entry
 * NAME`), so one entry's broker, timers and memory do not disturb the
 * next, and the wrappers' log lines do not mix into the table: a child's
 * stderr is shown only with `--verbose` or when the entry fails. Entries
 * from other modules are loaded with `import()` when their file exists and
 * skipped with a note when it does not. A missed goal is printed, not an
 * error; the exit code is 1 only when an entry crashed.
 *
 * @module
 */
import { parseFlags as parseArgs } from "../src/cli/cli_io.ts";
import type { BenchRow } from "./bench_row.ts";
import { checkRows, formatTable } from "./format_table.ts";
import { describeMachine, formatMachine, loadAverage } from "./machine.ts";

const ROOT = new URL("../", import.meta.url).pathname.replace(/\/$/, "");
const ROWS_MARK = "BENCH_ROWS ";

/** How an entry is run inside its child process. */
interface Entry {
  /** Short name for `--only` and `--entry`. */
  name: string;
  /** Module path relative to the repository root. */
  module: string;
  /** Calls the module's export. */
  run: (mod: Record<string, unknown>, quick: boolean) => Promise<unknown>;
  /** Child time limit, s: full and quick. */
  limit: [number, number];
}

function call(
  mod: Record<string, unknown>,
  name: string,
  opts: Record<string, unknown>,
): Promise<unknown> {
  const fn = mod[name];
  if (typeof fn !== "function") {
    throw new TypeError(`the module exports no function ${name}`);
  }
  return fn(opts);
}

async function withJvm(
  mod: Record<string, unknown>,
  fn: string,
  quick: boolean,
): Promise<unknown> {
  const { prepareTwoJvm } = await import("./two_jvm.ts");
  const jvm = await prepareTwoJvm();
  try {
    return await call(mod, fn, { quick, jvm });
  } finally {
    if (typeof jvm === "object") await jvm.close();
  }
}

/** Every entry, in the order of the table. */
const ENTRIES: readonly Entry[] = [
  {
    name: "launch",
    module: "bench/launch.ts",
    run: (m, quick) => withJvm(m, "benchLaunch", quick),
    limit: [600, 180],
  },
  {
    name: "throughput",
    module: "bench/throughput.ts",
    run: (m, quick) => call(m, "benchThroughput", { quick }),
    limit: [900, 600],
  },
  {
    name: "audit",
    module: "bench/audit_cost.ts",
    run: (m, quick) => call(m, "benchAuditCost", { quick }),
    limit: [900, 300],
  },
  {
    name: "relay",
    module: "bench/relay.ts",
    run: (m, quick) => call(m, "benchRelay", { quick }),
    limit: [600, 180],
  },
  {
    name: "pipe",
    module: "bench/pipe.ts",
    run: (m, quick) => call(m, "benchPipeRows", { quick }),
    limit: [240, 60],
  },
  {
    name: "memory",
    module: "bench/memory.ts",
    run: (m, quick) => withJvm(m, "benchMemory", quick),
    limit: [120, 60],
  },
  {
    name: "uploads",
    module: "bench/upload_memory.ts",
    run: (m, quick) => call(m, "benchUploadMemory", { quick }),
    limit: [300, 120],
  },
  {
    name: "tokens",
    module: "bench/tokens.ts",
    run: (m, quick) => call(m, "benchTokens", { seconds: quick ? 0.5 : 2 }),
    limit: [180, 60],
  },
  {
    name: "matching",
    module: "bench/matching.ts",
    run: (m, quick) => call(m, "benchMatching", { quick }),
    limit: [240, 60],
  },
  {
    name: "replicas",
    module: "bench/replicas.ts",
    run: (m, quick) => call(m, "benchReplicas", { quick }),
    limit: [900, 180],
  },
  {
    name: "watchdog",
    module: "bench/watchdog.ts",
    run: (m, quick) => call(m, "benchWatchdog", { quick }),
    limit: [360, 90],
  },
  {
    name: "kill",
    module: "bench/kill_latency.ts",
    run: (m, quick) => call(m, "benchKill", { quick }),
    limit: [240, 90],
  },
  {
    name: "build",
    module: "bench/build.ts",
    run: (m, quick) => call(m, "benchBuild", { quick }),
    limit: [240, 60],
  },
];

/** The outcome of one entry. */
interface EntryResult {
  /** Entry name. */
  name: string;
  /** Wall time of the child, s. */
  seconds: number;
  /** Rows (empty when skipped or failed). */
  rows: BenchRow[];
  /** Why the entry did not run. */
  skipped?: string;
  /** Why it failed. */
  error?: string;
}

const PERMISSIONS = [
  "--allow-read",
  "--allow-write",
  "--allow-run",
  "--allow-net=127.0.0.1",
  "--allow-env",
];

async function exists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}

/** Child mode: runs one entry and prints its rows after a marker. */
async function runEntryHere(name: string, quick: boolean): Promise<number> {
  const entry = ENTRIES.find((e) => e.name === name);
  if (!entry) {
    console.error(
      `error: --entry ${name}: expected one of ${
        ENTRIES.map((e) => e.name).join(", ")
      }`,
    );
    return 2;
  }
  const mod = await import(`${ROOT}/${entry.module}`);
  const rows = checkRows(await entry.run(mod, quick), name);
  console.log(ROWS_MARK + JSON.stringify(rows));
  return 0;
}

async function runEntryChild(
  entry: Entry,
  quick: boolean,
  verbose: boolean,
): Promise<EntryResult> {
  const t0 = performance.now();
  const seconds = () => Math.round((performance.now() - t0) / 100) / 10;
  if (!await exists(`${ROOT}/${entry.module}`)) {
    return {
      name: entry.name,
      seconds: 0,
      rows: [],
      skipped: `${entry.module} not present yet`,
    };
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      ...PERMISSIONS,
      "--config",
      `${ROOT}/deno.json`,
      `${ROOT}/bench/main.ts`,
      "--entry",
      entry.name,
      ...(quick ? ["--quick"] : []),
    ],
    stdin: "null",
    stdout: "piped",
    stderr: verbose ? "inherit" : "piped",
    // Its own process group, so that a timeout or Ctrl-C also ends what
    // the entry started (agents, wrappers, JVMs).
    detached: true,
  }).spawn();
  const killGroup = () => {
    try {
      Deno.kill(-child.pid, "SIGKILL");
    } catch { /* already gone */ }
  };
  const onInterrupt = () => {
    killGroup();
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", onInterrupt);
  const limit = entry.limit[quick ? 1 : 0];
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup();
  }, limit * 1000);
  const [out, err, status] = await Promise.all([
    new Response(child.stdout).text(),
    verbose ? Promise.resolve("") : new Response(child.stderr).text(),
    child.status,
  ]);
  clearTimeout(timer);
  Deno.removeSignalListener("SIGINT", onInterrupt);
  const line = out.split("\n").find((l) => l.startsWith(ROWS_MARK));
  if (!status.success || !line) {
    const why = timedOut
      ? `killed after the ${limit} s limit`
      : `exited with ${status.code}`;
    const tail = err.trim().split("\n").slice(-8).join("\n");
    return {
      name: entry.name,
      seconds: seconds(),
      rows: [],
      error: `${why}${tail ? `:\n${tail}` : ""}`,
    };
  }
  try {
    const rows = checkRows(
      JSON.parse(line.slice(ROWS_MARK.length)),
      entry.name,
    );
    return { name: entry.name, seconds: seconds(), rows };
  } catch (e) {
    return {
      name: entry.name,
      seconds: seconds(),
      rows: [],
      error: (e as Error).message,
    };
  }
}

const USAGE =
  `usage: deno task bench [--quick] [--json] [--only NAME[,NAME…]] [--verbose]
entries: ${ENTRIES.map((e) => e.name).join(", ")}`;

/** Runs the harness; returns the exit code. */
export async function benchMain(args: string[]): Promise<number> {
  let flags;
  try {
    flags = parseArgs(args, {
      boolean: ["quick", "json", "verbose", "help"],
      string: ["only", "entry"],
    });
  } catch (e) {
    console.error(`error: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  if (flags._.length > 0) {
    console.error(`error: unexpected argument ${flags._[0]}\n${USAGE}`);
    return 2;
  }
  const quick = flags.quick ?? false;
  if (flags.entry) return await runEntryHere(flags.entry, quick);
  const names: string[] | undefined = (flags.only as string | undefined)
    ?.split(",").map((s: string) => s.trim()).filter(Boolean);
  const unknown = names?.find((n: string) =>
    !ENTRIES.some((e) => e.name === n)
  );
  if (unknown) {
    console.error(`error: --only ${unknown}: no such entry\n${USAGE}`);
    return 2;
  }
  const selected = ENTRIES.filter((e) => !names || names.includes(e.name));
  const machine = await describeMachine();
  const t0 = performance.now();
  const progress = (s: string) => console.error(`[bench] ${s}`);
  progress(`${formatMachine(machine)}${quick ? " (quick)" : ""}`);
  const results: EntryResult[] = [];
  for (const entry of selected) {
    progress(`${entry.name} …`);
    const r = await runEntryChild(entry, quick, flags.verbose ?? false);
    progress(
      `${entry.name}: ${
        r.error ? "FAILED" : r.skipped ? "skipped" : `${r.rows.length} rows`
      } in ${r.seconds} s`,
    );
    results.push(r);
  }
  const seconds = Math.round((performance.now() - t0) / 100) / 10;
  // Other work on the machine shows in the load; report it with the numbers.
  const loadEnd = await loadAverage();
  if (flags.json) {
    console.log(
      JSON.stringify(
        { machine, loadEnd, quick, seconds, entries: results },
        null,
        2,
      ),
    );
  } else {
    const rows: BenchRow[] = [];
    for (const r of results) {
      rows.push(...r.rows);
      if (r.skipped || r.error) {
        rows.push({
          measure: r.name,
          ours: NaN,
          unit: "",
          note: r.skipped
            ? `skipped: ${r.skipped}`
            : `**failed**: ${r.error!.split("\n").join(" / ")}`,
        });
      }
    }
    console.log(`Machine: ${formatMachine(machine)}\n`);
    console.log(formatTable(rows));
    const met = rows.filter((r) => r.met === true).length;
    const missed = rows.filter((r) => r.met === false).length;
    console.log(
      `\n${met} goals met, ${missed} missed; ${seconds} s${
        quick ? " (--quick)" : ""
      }; load ${loadEnd} at the end. Ratio = ours / baseline; numbers are medians, spread in the notes.`,
    );
  }
  return results.some((r) => r.error) ? 1 : 0;
}

if (import.meta.main) {
  Deno.exit(await benchMain(Deno.args));
}
