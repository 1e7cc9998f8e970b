/**
 * Hostile and odd JDL input at submission, through the API and the CLI
 * alike: NUL, invalid UTF-8 and control characters are refused with one
 * error text and a line and column, nothing is stored; arguments fill
 * `$1…$N`; the executable is looked up as JAliEn does; and every accepted
 * JDL round-trips through the store exactly.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { BrokerError } from "../src/client/broker_client.ts";
import { formatJdl, parseJdl } from "../src/jdl/mod.ts";
import { SqliteJobStore } from "../src/broker/store_sqlite.ts";
import { Random, seedFromEnv } from "./_random.ts";
import { type Grid, startGrid } from "./_grid.ts";
import { gridUser, type Run, runSplitpilot } from "./_cli.ts";

/** `splitpilot ...args` as the grid's user runs it (tests/_cli.ts). */
function cli(
  grid: Grid,
  args: string[],
  opts: { stdin?: string; env?: Record<string, string> } = {},
): Promise<Run> {
  return runSplitpilot(gridUser(grid, opts.env), args, opts);
}

/** POSTs raw bytes; returns status and the error message (or the body). */
async function post(
  grid: Grid,
  body: Uint8Array | string,
  query = "",
): Promise<
  { status: number; message: string; body?: Record<string, unknown> }
> {
  try {
    const r = await grid.user.request("POST", `/api/v1/jobs${query}`, {
      body: typeof body === "string"
        ? body
        : new Uint8Array(body) as Uint8Array<ArrayBuffer>,
      retry: false,
    });
    const json = await r.json();
    return { status: r.status, message: "", body: json };
  } catch (e) {
    if (!(e instanceof BrokerError)) throw e;
    return { status: e.status, message: e.message };
  }
}

async function jobCount(grid: Grid): Promise<number> {
  return (await grid.user.json<{ jobs: unknown[] }>("GET", "/api/v1/jobs"))!
    .jobs.length;
}

const enc = new TextEncoder();
const NUL_JDL = 'Executable = "/bin/true";\nArguments = "a\u0000b";\n';
const NUL_ERROR =
  "line 2, column 15: expected JDL text without NUL characters, found U+0000";
const BAD_UTF8 = new Uint8Array([
  ...enc.encode('Executable = "/bin/true";\nArguments = "'),
  0xff,
  ...enc.encode('";\n'),
]);
const UTF8_ERROR = "line 2, column 14: expected UTF-8 text, found byte 0xff";

Deno.test("NUL in JDL via API: 400 with line and column, nothing stored", async () => {
  const grid = await startGrid();
  try {
    const r = await post(grid, NUL_JDL);
    assertEquals(r.status, 400);
    assertStringIncludes(r.message, NUL_ERROR);
    assertEquals(await jobCount(grid), 0);
  } finally {
    await grid.close();
  }
});

Deno.test("NUL in JDL via CLI: exit 2 with the API's error text, nothing stored", async () => {
  const grid = await startGrid();
  try {
    await Deno.writeTextFile(`${grid.dir}/nul.jdl`, NUL_JDL);
    const r = await cli(grid, ["submit", "nul.jdl"]);
    assertEquals(r.code, 2, r.stderr);
    assertStringIncludes(r.stderr, `error: ${NUL_ERROR}`);
    assertEquals(r.stdout, "");
    assertEquals(await jobCount(grid), 0);
  } finally {
    await grid.close();
  }
});

Deno.test("invalid UTF-8 via API: 400 with line and column, nothing stored", async () => {
  const grid = await startGrid();
  try {
    const r = await post(grid, BAD_UTF8);
    assertEquals(r.status, 400);
    assertStringIncludes(r.message, UTF8_ERROR);
    assertEquals(await jobCount(grid), 0);
  } finally {
    await grid.close();
  }
});

Deno.test("invalid UTF-8 via CLI: exit 2 with the API's error text, never turned into U+FFFD", async () => {
  const grid = await startGrid();
  try {
    await Deno.writeFile(`${grid.dir}/bad.jdl`, BAD_UTF8);
    const r = await cli(grid, ["submit", "bad.jdl"]);
    assertEquals(r.code, 2, r.stderr);
    assertStringIncludes(r.stderr, `error: ${UTF8_ERROR}`);
    assertEquals(await jobCount(grid), 0);
    // jdl check says the same without a broker.
    const c = await cli(grid, ["jdl", "check", "bad.jdl"]);
    assertEquals(c.code, 2);
    assertStringIncludes(c.stderr, UTF8_ERROR);
  } finally {
    await grid.close();
  }
});

Deno.test("control characters in paths, programs and arguments are refused at submit (newline, tab, escape)", async () => {
  const grid = await startGrid();
  try {
    const cases: [string, string][] = [
      [
        'Executable = "/bin/true\\n/usr/bin/python3";',
        "line 1, column 14: expected a value without control characters in Executable",
      ],
      [
        'Executable = "/bin/true";\nInputFile = {"LF:/jdoe/a", "LF:/jdoe/b\\tc"};',
        "line 2, column 28: expected a value without control characters in InputFile",
      ],
      [
        'Executable = "/bin/true";\nArguments = "\'a\\nb\'";',
        "line 2, column 13: expected a value without control characters in Arguments",
      ],
      [
        'Executable = "/bin/true";\nOutputFile = {"out\u001b[2J.txt"};',
        "line 2, column 15: expected a value without control characters in OutputFile",
      ],
    ];
    for (const [jdl, want] of cases) {
      const r = await post(grid, jdl);
      assertEquals(r.status, 400, jdl);
      assertStringIncludes(r.message, want);
    }
    // Comma injection stays one (odd) program name, never a second entry.
    const comma = await post(grid, 'Executable = "/bin/true,/usr/bin/id";');
    assertEquals(comma.status, 201);
    assertEquals(await jobCount(grid), 1);
  } finally {
    await grid.close();
  }
});

Deno.test("submit FILE arg…: $1…$N filled (also in 000$1), a missing one is a clear error; warnings printed", async () => {
  const grid = await startGrid();
  try {
    const jdl = `# submit raw.jdl RUN PERIOD YEAR
Executable = "/bin/true";
Arguments = "$1 $2";
InputDataCollection = "LF:/alice/data/$3/$2/000$1/raw.xml";
Price = "1";
`;
    await Deno.writeTextFile(`${grid.dir}/raw.jdl`, jdl);
    const ok = await cli(grid, [
      "submit",
      "raw.jdl",
      "245232",
      "LHC15o",
      "2015",
    ]);
    assertEquals(ok.code, 0, ok.stderr);
    assertStringIncludes(
      ok.stderr,
      'warning: line 5, column 9: quoted number "1" for Price',
    );
    const id = ok.stdout.trim();
    const stored = await new SqliteJobStore(`${grid.stateDir}/jobs.db`, {
      checkpointIntervalMs: 0,
    });
    try {
      const job = (await stored.get(id))!;
      assertStringIncludes(job.jdl, 'Arguments = "245232 LHC15o";');
      assertStringIncludes(
        job.jdl,
        "LF:/alice/data/2015/LHC15o/000245232/raw.xml",
      );
    } finally {
      await stored.close();
    }
    const missing = await cli(grid, ["submit", "raw.jdl", "245232"]);
    assertEquals(missing.code, 2);
    assertStringIncludes(
      missing.stderr,
      "error: line 3, column 17: expected an argument for $2: the JDL uses it but 1 was given",
    );
    const strict = await cli(grid, [
      "submit",
      "--strict",
      "raw.jdl",
      "1",
      "2",
      "3",
    ]);
    assertEquals(strict.code, 2);
    assertStringIncludes(strict.stderr, "line 5, column 9: expected a number");
  } finally {
    await grid.close();
  }
});

Deno.test("executable lookup: InputFile, then ~/bin, then the VO's /bin; a miss names every place searched", async () => {
  const grid = await startGrid();
  try {
    const admin = await grid.client(
      await grid.token("admin", {
        role: "USER",
        subject: "vo-admin",
        admin: true,
        ttlSeconds: 600,
      }),
    );
    const put = async (c: typeof admin, lfn: string, text: string) =>
      await (await c.request("PUT", `/api/v1/files${lfn}`, {
        body: enc.encode(text),
      })).body?.cancel();
    await put(admin, "/bin/vo.sh", "#!/bin/sh\necho vo > out.txt\n");
    await put(admin, "/bin/both.sh", "#!/bin/sh\necho vo-both > out.txt\n");
    await put(
      grid.user,
      "/jdoe/bin/both.sh",
      "#!/bin/sh\necho mine > out.txt\n",
    );

    const submitted = async (exe: string) => {
      const r = await post(
        grid,
        `Executable = "${exe}";\nOutputFile = {"out.txt"};\nTTL = 60;\n`,
      );
      assertEquals(r.status, 201, r.message);
      return String(r.body!.jobId);
    };
    const vo = await submitted("vo.sh");
    const mine = await submitted("both.sh");
    const byLfn = await submitted("/jdoe/bin/both.sh");
    const miss = await post(grid, 'TTL = 60;\nExecutable = "nothere.sh";\n');
    assertEquals(miss.status, 400);
    assertStringIncludes(
      miss.message,
      'line 2, column 14: expected Executable "nothere.sh" in the file store, found it nowhere; searched: the InputFile list, /jdoe/bin/nothere.sh, /bin/nothere.sh',
    );
    const agent = await grid.runAgent({
      containers: "none",
      extraArgs: ["--max-empty", "1", "--heartbeat", "2"],
    });
    assertEquals(agent.code, 0, agent.log);
    const out = async (id: string) =>
      (await (await grid.user.request(
        "GET",
        `/api/v1/files/jdoe/jobs/${id}/out.txt`,
      ))
        .text()).trim();
    assertEquals(await out(vo), "vo");
    assertEquals(await out(mine), "mine");
    assertEquals(await out(byLfn), "mine");
  } finally {
    await grid.close();
  }
});

/** Random JDL text: mostly valid, with odd but legal strings. */
function randomJdl(r: Random): string {
  const alphabet = [
    "a",
    "Z",
    "0",
    " ",
    "/",
    "\\\\",
    '\\"',
    "é",
    "€",
    "😀",
    "\u2028",
    "#",
    ";",
    "[",
    "]",
    "{",
    ",",
    "@",
    "=",
    "$",
    "\\n",
    "\\t",
  ];
  const str = (n: number) => {
    let s = "";
    for (let i = 0; i < n; i++) s += r.pick(alphabet);
    return `"${s}"`;
  };
  const lines = ['Executable = "/bin/true";'];
  const keys = ["Comment", "Jobtag", "Email", "LPMActivity", "X_Y", "Note"];
  for (let i = 0, n = r.int(5); i < n; i++) {
    const key = r.pick(keys);
    const value = r.chance(0.3)
      ? `{${str(r.int(6))}, ${str(r.int(6))}}`
      : r.chance(0.2)
      ? String(r.int(100000))
      : str(r.int(12));
    lines.push(`${key} = ${value};`);
  }
  if (r.chance(0.3)) lines.push(`TTL = "${r.int(9000) + 1}";`);
  if (r.chance(0.3)) lines.push(`Price = "${r.int(9)}";`);
  return lines.join(r.pick(["\n", "\r\n", " "])) + "\n";
}

Deno.test("property: every accepted JDL round-trips through the store exactly", async () => {
  const grid = await startGrid();
  const seed = seedFromEnv(20261130);
  const r = new Random(seed);
  try {
    const accepted: [string, string][] = [];
    for (let i = 0; i < 60; i++) {
      const text = randomJdl(r);
      const res = await post(grid, text);
      if (res.status !== 201) {
        assertEquals(res.status, 400, `seed ${seed}: ${JSON.stringify(text)}`);
        continue;
      }
      accepted.push([String(res.body!.jobId), text]);
    }
    assert(accepted.length >= 40, `only ${accepted.length} accepted`);
    const store = new SqliteJobStore(`${grid.stateDir}/jobs.db`, {
      checkpointIntervalMs: 0,
    });
    try {
      for (const [id, text] of accepted) {
        const want = parseJdl(text, { strict: false });
        const job = (await store.get(id))!;
        const what = `seed ${seed}, job ${id}: ${JSON.stringify(text)}`;
        assertEquals(job.jdl, formatJdl(want), what);
        assertEquals(parseJdl(job.jdl, { strict: false }), want, what);
      }
    } finally {
      await store.close();
    }
  } finally {
    await grid.close();
  }
});

Deno.test("CLI: jdl check prints warnings and exits 0; a template exits 2 with line and column; jdl fmt prints the canonical form", async () => {
  const grid = await startGrid();
  try {
    const fixtures = new URL("./fixtures/jdl/", import.meta.url).pathname;
    const ok = await cli(grid, [
      "jdl",
      "check",
      `${fixtures}aliphysics_cpass0.jdl`,
      `${fixtures}jaliensetup_job.jdl`,
    ]);
    assertEquals(ok.code, 0, ok.stderr);
    assertStringIncludes(
      ok.stdout,
      'aliphysics_cpass0.jdl: warning: line 19, column 1: key "GUIDFILE" given again',
    );
    assertStringIncludes(
      ok.stdout,
      "aliphysics_cpass0.jdl: ok (masterjob: Split file)",
    );
    const tpl = await cli(grid, [
      "jdl",
      "check",
      `${fixtures}aliphysics_hmtf_template_job.jdl`,
    ]);
    assertEquals(tpl.code, 2);
    assertStringIncludes(
      tpl.stderr,
      "error: line 25, column 13: expected an absolute logical file name in InputFile",
    );
    const strict = await cli(grid, [
      "jdl",
      "check",
      "--strict",
      `${fixtures}aliphysics_cpass0.jdl`,
    ]);
    assertEquals(strict.code, 2);
    assertStringIncludes(
      strict.stderr,
      "line 19, column 1: expected each key once",
    );
    const fmt = await cli(grid, [
      "jdl",
      "fmt",
      `${fixtures}jaliensetup_test.jdl`,
    ]);
    assertEquals(fmt.code, 0, fmt.stderr);
    assertEquals(
      fmt.stdout,
      'Executable = "test.sh";\nOutput = { "std*" };\nflags = {\n  testflag,\n  t2\n};\n',
    );
    const bad = await cli(grid, ["jdl", "fmt"]);
    assertEquals(bad.code, 2);
  } finally {
    await grid.close();
  }
});

Deno.test("CLI: submit prints the master's ID; ps shows masters with counts and why lines; why names the requirement", async () => {
  const grid = await startGrid();
  try {
    await Deno.writeTextFile(
      `${grid.dir}/m.jdl`,
      'Executable = "/bin/true";\nTTL = 60;\nSplit = "production:1-4";\nRequirements = member(other.GridPartitions, "quickreco");\n',
    );
    const sub = await cli(grid, ["submit", "m.jdl"]);
    assertEquals(sub.code, 0, sub.stderr);
    const master = sub.stdout.trim();
    assertStringIncludes(sub.stderr, `masterjob ${master}: 4 subjobs`);
    const ps = await cli(grid, ["ps"]);
    assertEquals(ps.code, 0, ps.stderr);
    const line = ps.stdout.split("\n").find((l) => l.startsWith(`${master} `));
    assert(line !== undefined, ps.stdout);
    assertStringIncludes(line, "SPLIT");
    assertStringIncludes(line, "production:1-4");
    assertStringIncludes(line, "WAITING:4");
    assertStringIncludes(
      ps.stdout,
      "waits: no agent asked for work in the last hour",
    );
    const sj = await cli(grid, ["ps", "--master", master, "--json"]);
    assertEquals(sj.code, 0, sj.stderr);
    const out = JSON.parse(sj.stdout);
    assertEquals(out.master.counts, { WAITING: 4 });
    assertEquals(out.jobs.length, 4);
    const agent = await grid.runAgent({
      containers: "none",
      extraArgs: ["--max-empty", "1"],
    });
    assertEquals(agent.code, 0, agent.log);
    const why = await cli(grid, ["why", out.jobs[0].id]);
    assertEquals(why.code, 0, why.stderr);
    assertStringIncludes(
      why.stdout,
      `job ${
        out.jobs[0].id
      } (WAITING): other.GridPartitions: no agent in the last hour advertised it`,
    );
    const tr = await cli(grid, ["trace", out.jobs[0].id]);
    assertStringIncludes(tr.stdout, "waiting: other.GridPartitions");
    const mt = await cli(grid, ["trace", master]);
    assertStringIncludes(mt.stdout, `masterjob ${master}`);
    assertStringIncludes(mt.stdout, "split into 4 subjobs");
  } finally {
    await grid.close();
  }
});
