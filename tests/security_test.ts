/**
 * Security suite: every case goes through real mutual TLS against a running
 * broker (in this process, and for the certificate cases also as its own
 * process with the broker's permissions). For every refused request it
 * checks the status, the JSON `{error, reason}` body, and that nothing in
 * the state changed: all rows of every table of `jobs.db` (read-only
 * connection) and the listing of every file in the state dir.
 */
import { DatabaseSync } from "node:sqlite";
import {
  assert,
  assertEquals,
  assertGreater,
  assertLessOrEqual,
  assertNotEquals,
} from "@std/assert";
import { type Grid, type GridOptions, startGrid } from "./_grid.ts";
import { AUTHZ_TABLE, formatAuthzTable } from "../src/broker/authz.ts";
import {
  createCa,
  derToPem,
  type IssueOptions,
  pemToDer,
  type Role,
  tokenIdentity,
  TokenIssuer,
} from "../src/token/mod.ts";
import { forge, peculiar } from "./_x509.ts";

/** A client credential: certificate and PKCS#8 key, PEM. */
interface Pem {
  certPem: string;
  keyPem: string;
}

/** What came back. */
interface Reply {
  status: number;
  body: Record<string, unknown> | null;
  text: string;
}

const SITE = {
  ce: "test::ce",
  site: "test",
  ttl: 86400,
  cpuCores: 8,
  memory: 0,
  disk: 0,
  packages: [],
  containers: ["none"],
};

const HOUR = 3600_000;

function jdl(extra = "", ttl = 1000): string {
  return `Executable = "/bin/sh";\nArguments = "-c true";\nTTL = ${ttl};\n${extra}`;
}

/**
 * One request over mutual TLS; `who` undefined sends no certificate. Bytes
 * and strings are sent as they are, anything else as JSON.
 */
async function call(
  grid: Grid,
  who: Pem | undefined,
  method: string,
  path: string,
  body?: unknown,
): Promise<Reply> {
  const client = Deno.createHttpClient(
    who
      ? { caCerts: [grid.ca.certPem], cert: who.certPem, key: who.keyPem }
      : { caCerts: [grid.ca.certPem] },
  );
  try {
    const init: RequestInit & { client: Deno.HttpClient } = { method, client };
    if (body instanceof Uint8Array) {
      init.body = body as Uint8Array<ArrayBuffer>;
    } else if (typeof body === "string") {
      init.body = body;
    } else if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { "content-type": "application/json" };
    }
    const res = await fetch(grid.url + path, init);
    const text = await res.text();
    let parsed: Record<string, unknown> | null = null;
    try {
      parsed = JSON.parse(text);
    } catch { /* not JSON: left null, callers assert on it */ }
    return { status: res.status, body: parsed, text };
  } finally {
    client.close();
  }
}

/** Everything the broker persists, as plain data. */
interface Snapshot {
  tables: Record<string, string[]>;
  files: string[];
}

async function listTree(root: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(`${root}/${rel}`)) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    // The database is compared row by row; its files change size with WAL
    // checkpoints that change nothing.
    if (!rel && /^jobs\.db(-wal|-shm|-journal)?$/.test(e.name)) continue;
    if (e.isDirectory) {
      out.push(`${p}/`, ...await listTree(root, p));
    } else {
      out.push(`${p} ${(await Deno.lstat(`${root}/${p}`)).size}`);
    }
  }
  return out.sort();
}

async function snapshot(grid: Grid): Promise<Snapshot> {
  const db = new DatabaseSync(`${grid.stateDir}/jobs.db`, { readOnly: true });
  const tables: Record<string, string[]> = {};
  try {
    const names = db.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
    ).all() as { name: string }[];
    for (const { name } of names) {
      // Sorted as text: some tables may have no rowid to order by.
      tables[name] = db.prepare(`SELECT * FROM "${name}"`).all()
        .map((r) => JSON.stringify({ ...r })).sort();
    }
  } finally {
    db.close();
  }
  return { tables, files: await listTree(grid.stateDir) };
}

/**
 * Sends a request that must be refused with `status` and `reason`, and
 * checks that the state is exactly as before.
 */
async function refused(
  grid: Grid,
  who: Pem | undefined,
  method: string,
  path: string,
  expect: { status: number; reason: string; body?: unknown },
): Promise<Reply> {
  const before = await snapshot(grid);
  // The snapshot must see the tables, or "unchanged" would prove nothing.
  for (const t of ["jobs", "trace", "files"]) {
    assert(before.tables[t] !== undefined, `no table ${t} in jobs.db`);
  }
  const r = await call(grid, who, method, path, expect.body);
  const after = await snapshot(grid);
  const what = `${method} ${path}: ${r.status} ${r.text}`;
  assertEquals(r.status, expect.status, what);
  assertEquals(r.body?.reason, expect.reason, what);
  assert(
    typeof r.body?.error === "string" && r.body.error.length > 0,
    `no error text: ${what}`,
  );
  assertEquals(after, before, `state changed by refused ${method} ${path}`);
  return r;
}

/** A request that must succeed with `status` (a positive control). */
async function ok(
  grid: Grid,
  who: Pem,
  method: string,
  path: string,
  body?: unknown,
  status = 200,
): Promise<Reply> {
  const r = await call(grid, who, method, path, body);
  assertEquals(r.status, status, `${method} ${path}: ${r.text}`);
  return r;
}

function issue(grid: Grid, opts: IssueOptions): Promise<Pem> {
  return grid.issuer.issue(opts);
}

function user(grid: Grid, subject: string, admin = false): Promise<Pem> {
  return issue(grid, { role: "USER", subject, ttlSeconds: 3600, admin });
}

function agent(grid: Grid, subject: string): Promise<Pem> {
  return issue(grid, { role: "JOB_AGENT", subject, ttlSeconds: 3600 });
}

async function submit(grid: Grid, who: Pem, text: string): Promise<string> {
  const r = await ok(grid, who, "POST", "/api/v1/jobs", text, 201);
  return r.body!.jobId as string;
}

/** Matches as an agent; returns the job and its job token. */
async function match(
  grid: Grid,
  who: Pem,
): Promise<{ jobId: string; token: Pem; reply: Reply }> {
  const r = await ok(grid, who, "POST", "/api/v1/match", SITE);
  const t = r.body!.token as Pem & { caPem: string };
  assertEquals(t.caPem, grid.ca.certPem);
  return {
    jobId: r.body!.jobId as string,
    token: { certPem: t.certPem, keyPem: t.keyPem },
    reply: r,
  };
}

function report(grid: Grid, who: Pem, id: string, state: string) {
  return ok(grid, who, "POST", `/api/v1/jobs/${id}/status`, { state });
}

function jobState(grid: Grid, id: string): string {
  const db = new DatabaseSync(`${grid.stateDir}/jobs.db`, { readOnly: true });
  try {
    const r = db.prepare("SELECT state FROM jobs WHERE id = ?").get(
      Number(id),
    ) as { state: string } | undefined;
    return r?.state ?? "(none)";
  } finally {
    db.close();
  }
}

const BYTES = new TextEncoder().encode("payload\n");

// ---------------------------------------------------------------------------
// 401: certificates that are missing or not ours.

async function refusedCertificates(opts: GridOptions) {
  const grid = await startGrid(opts);
  try {
    const jdoe = await user(grid, "jdoe");
    const site = await agent(grid, "test-site");
    const a = await submit(grid, jdoe, jdl());
    await match(grid, site);
    const b = await submit(grid, jdoe, jdl());
    // Every refused call below would change state if it were accepted:
    // match assigns job b, submit adds a job, kill kills job a.
    const attempts = (who: Pem | undefined, reason: string) => [
      () =>
        refused(grid, who, "POST", "/api/v1/match", {
          status: 401,
          reason,
          body: SITE,
        }),
      () =>
        refused(grid, who, "POST", "/api/v1/jobs", {
          status: 401,
          reason,
          body: jdl(),
        }),
      () =>
        refused(grid, who, "POST", `/api/v1/jobs/${a}/kill`, {
          status: 401,
          reason,
        }),
    ];
    const all = async (who: Pem | undefined, reason: string) => {
      for (const attempt of attempts(who, reason)) await attempt();
    };

    // No certificate at all.
    await all(undefined, "no_certificate");
    await refused(grid, undefined, "GET", `/api/v1/jobs/${a}`, {
      status: 401,
      reason: "no_certificate",
    });

    // A CA of our own making elsewhere, with another name...
    const evilCa = await createCa({ subject: "evil CA" });
    const evil = await TokenIssuer.fromPem(evilCa);
    for (const role of ["USER", "JOB_AGENT"] as const) {
      const t = await evil.issue({ role, subject: "jdoe", ttlSeconds: 600 });
      await all(t, "unknown_issuer");
    }
    // ...and one with exactly our CA's name (every default CA has it).
    const twin = await TokenIssuer.fromPem(await createCa());
    assertEquals(
      peculiar(twin.caCertPem).subject,
      peculiar(grid.ca.certPem).subject,
    );
    assertNotEquals(twin.caCertPem, grid.ca.certPem);
    await all(
      await twin.issue({ role: "USER", subject: "jdoe", ttlSeconds: 600 }),
      "bad_signature",
    );
    await all(
      await twin.issue({
        role: "JOB",
        subject: "jdoe",
        owner: "jdoe",
        jobId: a,
        ttlSeconds: 600,
      }),
      "bad_signature",
    );

    // Self-signed certificates copying our CA's DN: a fake CA, and a leaf
    // that names our CA as issuer.
    const caDn = peculiar(grid.ca.certPem).subject;
    await all(
      await forge({ subject: caDn, issuerOf: grid.ca, basic: "ca" }),
      "bad_signature",
    );
    await all(
      await forge({
        subject: "O=splitpilot, OU=JOB_AGENT, CN=test-site",
        issuerOf: grid.ca,
      }),
      "bad_signature",
    );

    // Our CA's own certificate (and key) presented as a client token.
    await all(
      { certPem: grid.ca.certPem, keyPem: grid.ca.keyPem },
      "not_leaf",
    );

    // Expired, and not yet valid.
    const now = Date.now();
    for (const role of ["USER", "JOB_AGENT"] as const) {
      await all(
        await issue(grid, {
          role,
          subject: "jdoe",
          ttlSeconds: 1,
          notBefore: new Date(now - 2 * HOUR),
          notAfter: new Date(now - HOUR),
        }),
        "expired",
      );
      await all(
        await issue(grid, {
          role,
          subject: "jdoe",
          ttlSeconds: 1,
          notBefore: new Date(now + HOUR),
          notAfter: new Date(now + 2 * HOUR),
        }),
        "not_yet_valid",
      );
    }

    // Tampered signature: flip the last byte of a valid agent token.
    const good = await agent(grid, "test-site");
    const der = pemToDer(good.certPem).slice();
    der[der.length - 1] ^= 0x01;
    await all(
      { certPem: derToPem(der, "CERTIFICATE"), keyPem: good.keyPem },
      "bad_signature",
    );
    // Tampered contents: a legitimate user "jdoX" rewrites its CN to jdoe.
    const jdox = await user(grid, "jdoX");
    const dder = pemToDer(jdox.certPem).slice();
    const at = dder.toHex().indexOf(new TextEncoder().encode("jdoX").toHex());
    assert(at >= 0 && at % 2 === 0);
    dder[at / 2 + 3] = "e".charCodeAt(0);
    assertEquals(
      tokenIdentity(dder).subject,
      "jdoe",
      "the tampered certificate claims jdoe",
    );
    await all(
      { certPem: derToPem(dder, "CERTIFICATE"), keyPem: jdox.keyPem },
      "bad_signature",
    );

    // Signed by our CA, but not a token: an unknown role, and an admin
    // flag on an agent.
    await all(
      await forge({
        subject: "O=splitpilot, OU=ROOT, CN=jdoe",
        signer: grid.ca,
      }),
      "bad_role",
    );
    await all(
      await forge({
        subject: "O=splitpilot, OU=JOB_AGENT, 2.5.4.12=admin, CN=test-site", // title
        signer: grid.ca,
      }),
      "bad_dn",
    );

    // A HOST certificate (serverAuth and clientAuth, as grid host
    // certificates have) authenticates, but only a site's factory calls
    // are open to it: match, submit and kill are 403 wrong_role.
    const host = await issue(grid, {
      role: "HOST",
      subject: "127.0.0.1",
      ttlSeconds: 60,
    });
    await refused(grid, host, "POST", "/api/v1/match", {
      status: 403,
      reason: "wrong_role",
      body: SITE,
    });
    await refused(grid, host, "POST", "/api/v1/jobs", {
      status: 403,
      reason: "wrong_role",
      body: jdl(),
    });
    await refused(grid, host, "POST", `/api/v1/jobs/${a}/kill`, {
      status: 403,
      reason: "wrong_role",
    });

    // Positive control: the real agent still matches job b, and jdoe still
    // kills job a — the refusals above were about the certificates.
    assertEquals((await match(grid, site)).jobId, b);
    await ok(grid, jdoe, "POST", `/api/v1/jobs/${a}/kill`);
    assertEquals(jobState(grid, a), "KILLED");
  } finally {
    await grid.close();
  }
}

Deno.test("security: refused certificates get 401 {error, reason} and change nothing", () =>
  refusedCertificates({}));

Deno.test("security: refused certificates, broker as its own process", () =>
  refusedCertificates({ process: true }));

// ---------------------------------------------------------------------------
// 403: the right certificate, the wrong role.

Deno.test("security: wrong role for the endpoint is 403 wrong_role", async () => {
  const grid = await startGrid();
  try {
    const jdoe = await user(grid, "jdoe");
    const site = await agent(grid, "test-site");
    const a = await submit(grid, jdoe, jdl());
    const { token: ja } = await match(grid, site);
    await submit(grid, jdoe, jdl()); // stays WAITING: match would take it
    const deny = (who: Pem, method: string, path: string, body?: unknown) =>
      refused(grid, who, method, path, {
        status: 403,
        reason: "wrong_role",
        body,
      });

    // The cases of the issue.
    await deny(jdoe, "POST", "/api/v1/match", SITE);
    await deny(ja, "POST", "/api/v1/jobs", jdl());
    // More: an agent submitting, a user reporting on (or heartbeating)
    // their own job, a job token killing or tracing its own job, an
    // agent killing or reading files.
    await deny(site, "POST", "/api/v1/jobs", jdl());
    await deny(jdoe, "POST", `/api/v1/jobs/${a}/status`, { state: "STARTED" });
    await deny(jdoe, "POST", `/api/v1/jobs/${a}/heartbeat`, {});
    await deny(ja, "POST", "/api/v1/match", SITE);
    await deny(ja, "POST", `/api/v1/jobs/${a}/kill`);
    await deny(ja, "GET", `/api/v1/jobs/${a}/trace`);
    await deny(ja, "GET", "/api/v1/jobs");
    await deny(site, "POST", `/api/v1/jobs/${a}/kill`);
    await deny(site, "GET", `/api/v1/jobs/${a}/trace`);
    await deny(site, "PUT", `/api/v1/files/jdoe/jobs/${a}/x`, BYTES);
    await deny(site, "GET", "/api/v1/files?prefix=/jdoe/");
    // Admin is a USER flag: it does not open agent endpoints.
    await deny(await user(grid, "root", true), "POST", "/api/v1/match", SITE);
    assertEquals(jobState(grid, a), "ASSIGNED");
  } finally {
    await grid.close();
  }
});

Deno.test("security: every role × endpoint the table leaves out is refused", async () => {
  const grid = await startGrid();
  try {
    const jdoe = await user(grid, "jdoe");
    const site = await agent(grid, "test-site");
    const a = await submit(grid, jdoe, jdl());
    const { token: ja } = await match(grid, site);
    await submit(grid, jdoe, jdl());
    const tokens: Record<Exclude<Role, "HOST">, Pem> = {
      USER: jdoe,
      JOB_AGENT: site,
      JOB: ja,
    };
    let checked = 0;
    for (const route of AUTHZ_TABLE) {
      const path = route.path.replace(":id", a).replace(
        "*",
        `jdoe/jobs/${a}/x`,
      );
      const body = route.method === "PUT"
        ? BYTES
        : route.method === "POST"
        ? (route.name === "submit" ? jdl() : { state: "STARTED" })
        : undefined;
      for (const [role, who] of Object.entries(tokens)) {
        if (route.allow[role as Role]) continue;
        await refused(grid, who, route.method, path, {
          status: 403,
          reason: "wrong_role",
          body,
        });
        checked++;
      }
    }
    // Every route refuses at least one role, so the count is the table's.
    const expected = AUTHZ_TABLE.reduce(
      (n, r) => n + 3 - Object.keys(r.allow).filter((x) => x !== "HOST").length,
      0,
    );
    assertEquals(checked, expected);
    assertGreater(checked, 15);
    // The printed table has a row for every route.
    const printed = formatAuthzTable();
    for (const r of AUTHZ_TABLE) {
      assert(printed.includes(`\`${r.method} ${r.path}\``), r.name);
    }
  } finally {
    await grid.close();
  }
});

// ---------------------------------------------------------------------------
// 403: the right role, the wrong object.

Deno.test("security: tokens act only on their own objects (403 wrong_object)", async () => {
  const grid = await startGrid();
  try {
    const jdoe = await user(grid, "jdoe");
    const mallory = await user(grid, "mallory");
    const site1 = await agent(grid, "site-one");
    const site2 = await agent(grid, "site-two");
    await ok(grid, jdoe, "PUT", "/api/v1/files/jdoe/data/in.txt", BYTES, 201);
    await ok(
      grid,
      mallory,
      "PUT",
      "/api/v1/files/mallory/secret.txt",
      BYTES,
      201,
    );
    const a = await submit(
      grid,
      jdoe,
      jdl(`InputFile = {"LF:/jdoe/data/in.txt"};\n`),
    );
    const b = await submit(grid, jdoe, jdl());
    const ma = await match(grid, site1);
    const mb = await match(grid, site1);
    assertEquals([ma.jobId, mb.jobId], [a, b]);
    const ja = ma.token;
    const jb = mb.token;
    // A JDL naming another user's file as its input.
    const d = await submit(
      grid,
      jdoe,
      jdl(`InputFile = {"LF:/mallory/secret.txt"};\n`),
    );
    const md = await match(grid, site2);
    assertEquals(md.jobId, d);
    const c = await submit(grid, jdoe, jdl()); // WAITING, matched by nobody
    const m = await submit(grid, mallory, jdl()); // mallory's own job

    // Positive controls: the owners of each object may act on it.
    await ok(grid, ja, "GET", "/api/v1/files/jdoe/data/in.txt");
    await ok(
      grid,
      jb,
      "PUT",
      `/api/v1/files/jdoe/jobs/${b}/out.txt`,
      BYTES,
      201,
    );
    await ok(grid, jb, "GET", `/api/v1/files/jdoe/jobs/${b}/out.txt`);
    await ok(grid, ja, "GET", `/api/v1/jobs/${a}`);
    await ok(grid, site1, "POST", `/api/v1/jobs/${a}/heartbeat`, {});
    await ok(grid, site2, "GET", `/api/v1/jobs/${d}`);
    await ok(grid, jdoe, "GET", `/api/v1/jobs/${a}/trace`);
    await ok(grid, mallory, "GET", `/api/v1/jobs/${m}`);

    const deny = (who: Pem, method: string, path: string, body?: unknown) =>
      refused(grid, who, method, path, {
        status: 403,
        reason: "wrong_object",
        body,
      });

    // Agents: only jobs they matched, with that very certificate.
    await deny(site2, "POST", `/api/v1/jobs/${a}/status`, { state: "STARTED" });
    await deny(site2, "POST", `/api/v1/jobs/${a}/heartbeat`, {});
    await deny(site2, "GET", `/api/v1/jobs/${a}`);
    await deny(site1, "POST", `/api/v1/jobs/${c}/status`, { state: "STARTED" });
    await deny(site1, "GET", `/api/v1/jobs/${c}`);
    await deny(site1, "POST", `/api/v1/jobs/${d}/status`, {
      state: "ERROR_A",
    });
    const site1Again = await agent(grid, "site-one");
    await deny(site1Again, "POST", `/api/v1/jobs/${a}/status`, {
      state: "STARTED",
    });

    // Job tokens: another job's status and files.
    await deny(ja, "GET", `/api/v1/jobs/${b}`);
    await deny(ja, "POST", `/api/v1/jobs/${b}/status`, { state: "STARTED" });
    await deny(ja, "POST", `/api/v1/jobs/${b}/heartbeat`, {});
    await deny(ja, "GET", `/api/v1/files/jdoe/jobs/${b}/out.txt`);
    await deny(ja, "PUT", `/api/v1/files/jdoe/jobs/${b}/evil.txt`, BYTES);
    await deny(ja, "PUT", `/api/v1/files/jdoe/jobs/${a}0/x`, BYTES);
    await deny(ja, "PUT", "/api/v1/files/jdoe/data/in.txt", BYTES);
    await deny(ja, "GET", "/api/v1/files/mallory/secret.txt");
    await deny(ja, "GET", `/api/v1/jobs/${m}`);
    // A declared input outside the owner's tree is not readable either.
    await deny(md.token, "GET", "/api/v1/files/mallory/secret.txt");

    // Users: only their own jobs and files.
    await deny(mallory, "GET", `/api/v1/jobs/${a}`);
    await deny(mallory, "GET", `/api/v1/jobs/${a}/trace`);
    await deny(mallory, "POST", `/api/v1/jobs/${a}/kill`);
    await deny(mallory, "POST", `/api/v1/jobs/${c}/kill`);
    await deny(mallory, "POST", `/api/v1/jobs/${a}/resubmit`);
    await deny(mallory, "GET", "/api/v1/jobs?user=jdoe");
    await deny(mallory, "GET", "/api/v1/files/jdoe/data/in.txt");
    await deny(mallory, "GET", `/api/v1/files/jdoe/jobs/${b}/out.txt`);
    await deny(mallory, "PUT", "/api/v1/files/jdoe/data/in.txt", BYTES);
    await deny(mallory, "GET", "/api/v1/files?prefix=/jdoe/");
    await deny(mallory, "GET", "/api/v1/files?prefix=/");
    await deny(jdoe, "GET", "/api/v1/files/mallory/secret.txt");
    await deny(jdoe, "PUT", "/api/v1/files/mallory/x", BYTES);
    await deny(jdoe, "GET", `/api/v1/jobs/${m}`);
    // A literal `..` is resolved by the URL parser before it leaves the
    // client: it arrives as /mallory/secret.txt and is refused as such.
    await deny(jdoe, "GET", "/api/v1/files/jdoe/../mallory/secret.txt");

    // Traversal that survives the URL parser (encoded slashes) and bad
    // escapes are 400 bad_lfn, also when the rest would be allowed.
    const bad = (who: Pem, method: string, path: string, body?: unknown) =>
      refused(grid, who, method, path, {
        status: 400,
        reason: "bad_lfn",
        body,
      });
    await bad(jdoe, "GET", "/api/v1/files/jdoe%2F..%2Fmallory%2Fsecret.txt");
    await bad(jdoe, "PUT", "/api/v1/files/jdoe%2F..%2Fmallory%2Fx", BYTES);
    await bad(
      ja,
      "PUT",
      `/api/v1/files/jdoe/jobs/${a}%2F..%2F${b}%2Fevil.txt`,
      BYTES,
    );
    await bad(jdoe, "GET", "/api/v1/files/jdoe/%E0%A4%A");
    await bad(jdoe, "PUT", "/api/v1/files/jdoe/a%00b", BYTES);

    assertEquals(
      [a, b, c, d].map((id) => jobState(grid, id)),
      ["ASSIGNED", "ASSIGNED", "WAITING", "ASSIGNED"],
    );
  } finally {
    await grid.close();
  }
});

Deno.test("security: an admin USER sees and kills any job and reads any file", async () => {
  const grid = await startGrid();
  try {
    const jdoe = await user(grid, "jdoe");
    const mallory = await user(grid, "mallory");
    const root = await user(grid, "root", true);
    assertEquals(tokenIdentity(root.certPem).admin, true);
    await ok(grid, jdoe, "PUT", "/api/v1/files/jdoe/data/in.txt", BYTES, 201);
    const a = await submit(grid, jdoe, jdl());
    const m = await submit(grid, mallory, jdl());

    // Not admin: refused, nothing changes.
    await refused(grid, mallory, "POST", `/api/v1/jobs/${a}/kill`, {
      status: 403,
      reason: "wrong_object",
    });
    await refused(grid, mallory, "GET", "/api/v1/files/jdoe/data/in.txt", {
      status: 403,
      reason: "wrong_object",
    });

    // Admin: everything a USER endpoint offers, on anyone's objects.
    assertEquals(
      (await ok(grid, root, "GET", `/api/v1/jobs/${a}`)).body!.owner,
      "jdoe",
    );
    const trace = await ok(grid, root, "GET", `/api/v1/jobs/${m}/trace`);
    assertEquals((trace.body!.job as { owner: string }).owner, "mallory");
    const listed = await ok(grid, root, "GET", "/api/v1/jobs");
    assertEquals(
      (listed.body!.jobs as { id: string }[]).map((j) => j.id).sort(),
      [a, m].sort(),
    );
    const ofJdoe = await ok(grid, root, "GET", "/api/v1/jobs?user=jdoe");
    assertEquals((ofJdoe.body!.jobs as { id: string }[]).map((j) => j.id), [a]);
    const file = await ok(grid, root, "GET", "/api/v1/files/jdoe/data/in.txt");
    assertEquals(file.text, "payload\n");
    const files = await ok(grid, root, "GET", "/api/v1/files?prefix=/jdoe/");
    assertEquals(
      (files.body!.files as { lfn: string }[]).map((f) => f.lfn),
      ["/jdoe/data/in.txt"],
    );
    await ok(grid, root, "POST", `/api/v1/jobs/${a}/kill`);
    assertEquals(jobState(grid, a), "KILLED");
    assertEquals(jobState(grid, m), "WAITING");
    // The non-admin's own listing shows only their job.
    const own = await ok(grid, mallory, "GET", "/api/v1/jobs");
    assertEquals((own.body!.jobs as { id: string }[]).map((j) => j.id), [m]);
  } finally {
    await grid.close();
  }
});

// ---------------------------------------------------------------------------
// Revocation: a job token dies with its job, whatever its notAfter says.

Deno.test("security: a job token is refused once its job is final or killed", async () => {
  const grid = await startGrid();
  try {
    const jdoe = await user(grid, "jdoe");
    const site = await agent(grid, "test-site");
    const revoked = (who: Pem, method: string, path: string, body?: unknown) =>
      refused(grid, who, method, path, {
        status: 401,
        reason: "revoked",
        body,
      });

    // DONE.
    const a = await submit(grid, jdoe, jdl());
    const { token: ja } = await match(grid, site);
    for (const s of ["STARTED", "RUNNING", "SAVING"]) {
      await report(grid, ja, a, s);
    }
    await ok(
      grid,
      ja,
      "PUT",
      `/api/v1/files/jdoe/jobs/${a}/out.txt`,
      BYTES,
      201,
    );
    await ok(grid, ja, "POST", `/api/v1/jobs/${a}/heartbeat`, {});
    await report(grid, ja, a, "DONE");
    assertEquals(jobState(grid, a), "DONE");
    assertGreater(tokenIdentity(ja.certPem).notAfter.getTime(), Date.now());
    await revoked(ja, "POST", `/api/v1/jobs/${a}/status`, { state: "RUNNING" });
    await revoked(ja, "POST", `/api/v1/jobs/${a}/heartbeat`, {});
    await revoked(ja, "GET", `/api/v1/jobs/${a}`);
    await revoked(ja, "GET", `/api/v1/files/jdoe/jobs/${a}/out.txt`);
    await revoked(ja, "PUT", `/api/v1/files/jdoe/jobs/${a}/late.txt`, BYTES);
    await revoked(ja, "PUT", `/api/v1/files/jdoe/jobs/${a}/out.txt`, BYTES);

    // KILLED by its user while running.
    const b = await submit(grid, jdoe, jdl());
    const { token: jb } = await match(grid, site);
    await report(grid, jb, b, "STARTED");
    await ok(grid, jb, "POST", `/api/v1/jobs/${b}/heartbeat`, {});
    await ok(grid, jdoe, "POST", `/api/v1/jobs/${b}/kill`);
    await revoked(jb, "POST", `/api/v1/jobs/${b}/heartbeat`, {});
    await revoked(jb, "POST", `/api/v1/jobs/${b}/status`, { state: "RUNNING" });
    await revoked(jb, "GET", `/api/v1/jobs/${b}`);
    await revoked(jb, "PUT", `/api/v1/files/jdoe/jobs/${b}/out.txt`, BYTES);
    // The agent that matched it learns of the kill on its heartbeat.
    const hb = await ok(grid, site, "POST", `/api/v1/jobs/${b}/heartbeat`, {});
    assertEquals((hb.body!.kill as { reason: number }).reason, 30);
    assertEquals(jobState(grid, b), "KILLED");

    // Resubmitted after ERROR_IB: the old attempt's token is dead, also
    // once the job is active again with a new token.
    const c = await submit(grid, jdoe, jdl());
    const { token: jc1 } = await match(grid, site);
    await report(grid, jc1, c, "STARTED");
    const back = await report(grid, jc1, c, "ERROR_IB");
    assertEquals(back.body!.state, "WAITING");
    await revoked(jc1, "POST", `/api/v1/jobs/${c}/heartbeat`, {});
    const again = await match(grid, site);
    assertEquals(again.jobId, c);
    await ok(grid, again.token, "POST", `/api/v1/jobs/${c}/heartbeat`, {});
    await revoked(jc1, "POST", `/api/v1/jobs/${c}/status`, {
      state: "STARTED",
    });

    // A JOB token for a live job, signed by our CA but not the one the
    // broker issued at match time (e.g. made with `token issue`).
    const extra = await issue(grid, {
      role: "JOB",
      subject: "jdoe",
      owner: "jdoe",
      jobId: c,
      ttlSeconds: 600,
    });
    await revoked(extra, "POST", `/api/v1/jobs/${c}/status`, {
      state: "STARTED",
    });
    // And one for a job that does not exist.
    await revoked(
      await issue(grid, {
        role: "JOB",
        subject: "jdoe",
        owner: "jdoe",
        jobId: "424242",
        ttlSeconds: 600,
      }),
      "GET",
      "/api/v1/jobs/424242",
    );
  } finally {
    await grid.close();
  }
});

// ---------------------------------------------------------------------------
// Lifetimes.

async function jobTokenLifetime(margin: number | undefined) {
  const grid = await startGrid(
    margin === undefined ? {} : { jobTokenMarginSeconds: margin },
  );
  try {
    const jdoe = await user(grid, "jdoe");
    const site = await agent(grid, "test-site");
    const id = await submit(grid, jdoe, jdl("", 1234));
    const t0 = Date.now();
    const { token } = await match(grid, site);
    const t1 = Date.now();
    const who = tokenIdentity(token.certPem);
    assertEquals([who.role, who.jobId, who.owner], ["JOB", id, "jdoe"]);
    const life = (1234 + (margin ?? 600)) * 1000;
    // notAfter is written in whole seconds, rounded down.
    assertLessOrEqual(t0 + life - 1000, who.notAfter.getTime());
    assertLessOrEqual(who.notAfter.getTime(), t1 + life);
    assertLessOrEqual(who.notBefore.getTime(), t0);
  } finally {
    await grid.close();
  }
}

Deno.test("lifetimes: job token = job TTL + 600 s margin by default", () =>
  jobTokenLifetime(undefined));

Deno.test("lifetimes: job token margin is configurable", () =>
  jobTokenLifetime(42));

Deno.test("lifetimes: an agent token works until the notAfter set at issue", async () => {
  const grid = await startGrid();
  try {
    const jdoe = await user(grid, "jdoe");
    // Room for the issue, two submits and a match on a loaded CI box.
    const notAfter = new Date(Math.floor(Date.now() / 1000) * 1000 + 8000);
    const site = await issue(grid, {
      role: "JOB_AGENT",
      subject: "short-slot",
      ttlSeconds: 1,
      notAfter,
    });
    assertEquals(tokenIdentity(site.certPem).notAfter, notAfter);
    await submit(grid, jdoe, jdl());
    await submit(grid, jdoe, jdl());
    await match(grid, site);
    const wait = notAfter.getTime() + 1100 - Date.now();
    assertGreater(wait, 0, "the first match took too long to test expiry");
    await new Promise((r) => setTimeout(r, wait));
    await refused(grid, site, "POST", "/api/v1/match", {
      status: 401,
      reason: "expired",
      body: SITE,
    });
    // A fresh token for the same slot works again.
    const renewed = await agent(grid, "short-slot");
    assertNotEquals(renewed.certPem, site.certPem);
    await match(grid, renewed);
  } finally {
    await grid.close();
  }
});
