/**
 * The broker handler as a pure function, the way hono tests call
 * `app.request()`: a web Request plus a Peer (just the client
 * certificate's DER, no TLS), a real SQLite store in memory, real tokens.
 */
import { assert, assertEquals } from "@std/assert";
import {
  createCa,
  type IssuedToken,
  type IssueOptions,
  pemToDer,
  TokenIssuer,
  TokenVerifier,
} from "../token/mod.ts";
import { BlobStore } from "./blob_store.ts";
import {
  type BrokerDeps,
  createBrokerHandler,
  type Handler,
  type Peer,
} from "./handler.ts";
import { SqliteJobStore } from "./store_sqlite.ts";

interface Broker {
  handler: Handler;
  issuer: TokenIssuer;
  store: SqliteJobStore;
  errors: unknown[];
  call(
    method: string,
    path: string,
    peer: Peer,
    body?: unknown,
  ): Promise<{ status: number; json: Record<string, unknown> }>;
  peer(
    o: Partial<IssueOptions> & Pick<IssueOptions, "role" | "subject">,
  ): Promise<Peer>;
  close(): Promise<void>;
}

async function broker(
  wrap?: (deps: BrokerDeps) => BrokerDeps,
): Promise<Broker> {
  const ca = await createCa();
  const issuer = await TokenIssuer.fromPem(ca);
  const store = new SqliteJobStore(":memory:");
  const dir = await Deno.makeTempDir({ prefix: "splitpilot-handler-" });
  const errors: unknown[] = [];
  const deps: BrokerDeps = {
    store,
    blobs: new BlobStore(dir),
    issuer,
    verifier: new TokenVerifier(ca.certPem),
  };
  const handler = createBrokerHandler(wrap ? wrap(deps) : deps, {
    onError: (e) => void errors.push(e),
  });
  const call: Broker["call"] = async (method, path, peer, body) => {
    const res = await handler(
      new Request(`https://broker.test${path}`, {
        method,
        body: body === undefined
          ? undefined
          : typeof body === "string"
          ? body
          : JSON.stringify(body),
      }),
      peer,
    );
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : {} };
  };
  return {
    handler,
    issuer,
    store,
    errors,
    call,
    peer: async (o) =>
      tokenPeer(await issuer.issue({ ttlSeconds: 3600, ...o })),
    close: async () => {
      await store.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function tokenPeer(t: Pick<IssuedToken, "certPem">): Peer {
  return { certDer: pemToDer(t.certPem) };
}

const SLOT = {
  ce: "local::ce",
  site: "local",
  ttl: 3600,
  cpuCores: 1,
  memory: 0,
  disk: 0,
  packages: [],
  containers: ["none"],
};

Deno.test("handler: health answers with the caller's role and subject", async () => {
  const b = await broker();
  try {
    const r = await b.call(
      "GET",
      "/api/v1/health",
      await b.peer({ role: "USER", subject: "alice" }),
    );
    assertEquals(r, {
      status: 200,
      json: { ok: true, role: "USER", subject: "alice" },
    });
  } finally {
    await b.close();
  }
});

Deno.test("handler: routing errors come before authentication: 404 and 405", async () => {
  const b = await broker();
  try {
    const none: Peer = {};
    assertEquals((await b.call("GET", "/api/v1/nope", none)).status, 404);
    const r = await b.call("DELETE", "/api/v1/health", none);
    assertEquals([r.status, r.json.reason], [405, "method_not_allowed"]);
  } finally {
    await b.close();
  }
});

Deno.test("handler: no certificate, a foreign CA's, or a TLS refusal is 401", async () => {
  const b = await broker();
  try {
    const none = await b.call("GET", "/api/v1/health", {});
    assertEquals([none.status, none.json.reason], [401, "no_certificate"]);
    const other = await TokenIssuer.fromPem(await createCa());
    const foreign = tokenPeer(
      await other.issue({ role: "USER", subject: "alice", ttlSeconds: 60 }),
    );
    assertEquals((await b.call("GET", "/api/v1/health", foreign)).status, 401);
    const good = await b.peer({ role: "USER", subject: "alice" });
    const tls = await b.call("GET", "/api/v1/health", {
      ...good,
      tlsAuthorized: false,
      tlsError: "self signed",
    });
    assertEquals([tls.status, tls.json.reason], [401, "tls_unauthorized"]);
  } finally {
    await b.close();
  }
});

Deno.test("handler: a role outside the table is 403 wrong_role; another user's job is 403 wrong_object", async () => {
  const b = await broker();
  try {
    const agent = await b.peer({ role: "JOB_AGENT", subject: "pilot" });
    const r = await b.call(
      "POST",
      "/api/v1/jobs",
      agent,
      'Executable = "/bin/true";',
    );
    assertEquals([r.status, r.json.reason], [403, "wrong_role"]);
    const alice = await b.peer({ role: "USER", subject: "alice" });
    const bob = await b.peer({ role: "USER", subject: "bob" });
    const sub = await b.call(
      "POST",
      "/api/v1/jobs",
      alice,
      'Executable = "/bin/true";',
    );
    assertEquals(sub.status, 201);
    const peek = await b.call("GET", `/api/v1/jobs/${sub.json.jobId}`, bob);
    assertEquals([peek.status, peek.json.reason], [403, "wrong_object"]);
  } finally {
    await b.close();
  }
});

Deno.test("handler: submit, match, reports with the job token, user kill seen by the heartbeat, trace", async () => {
  const b = await broker();
  try {
    const alice = await b.peer({ role: "USER", subject: "alice" });
    const agent = await b.peer({ role: "JOB_AGENT", subject: "pilot" });
    const sub = await b.call(
      "POST",
      "/api/v1/jobs",
      alice,
      'Executable = "/bin/true";\nTTL = 600;',
    );
    assertEquals(sub.status, 201);
    const id = sub.json.jobId as string;
    const m = await b.call("POST", "/api/v1/match", agent, SLOT);
    assertEquals([m.status, m.json.jobId, m.json.user], [200, id, "alice"]);
    const job = tokenPeer(m.json.token as IssuedToken);
    for (const state of ["STARTED", "RUNNING"]) {
      const s = await b.call("POST", `/api/v1/jobs/${id}/status`, job, {
        state,
      });
      assertEquals([s.status, s.json.state], [200, state]);
    }
    // No more jobs: 204, empty.
    assertEquals(
      (await b.call("POST", "/api/v1/match", agent, SLOT)).status,
      204,
    );
    const k = await b.call("POST", `/api/v1/jobs/${id}/kill`, alice);
    assertEquals([k.status, k.json.state], [200, "KILLED"]);
    // The agent's heartbeat carries the kill order.
    const hb = await b.call("POST", `/api/v1/jobs/${id}/heartbeat`, agent, {});
    assertEquals(hb.json.kill, {
      reason: 30,
      message: "killed by user alice (kill reason 30)",
    });
    // The job token died with its job.
    const late = await b.call("POST", `/api/v1/jobs/${id}/status`, job, {
      state: "DONE",
    });
    assertEquals([late.status, late.json.reason], [401, "revoked"]);
    const t = await b.call("GET", `/api/v1/jobs/${id}/trace`, alice);
    assertEquals(
      (t.json.trace as { state: string }[]).map((e) => e.state),
      ["WAITING", "ASSIGNED", "STARTED", "RUNNING", "KILLED"],
    );
  } finally {
    await b.close();
  }
});

Deno.test("handler: bad bodies are 400s naming the problem, never 500s", async () => {
  const b = await broker();
  try {
    const agent = await b.peer({ role: "JOB_AGENT", subject: "pilot" });
    const bad = await b.call("POST", "/api/v1/match", agent, "{not json");
    assertEquals([bad.status, bad.json.reason], [400, "bad_json"]);
    const arr = await b.call("POST", "/api/v1/match", agent, "[1]");
    assertEquals([arr.status, arr.json.reason], [400, "bad_json"]);
    const neg = await b.call("POST", "/api/v1/match", agent, { cpuCores: -1 });
    assertEquals([neg.status, neg.json.reason], [400, "bad_field"]);
    const alice = await b.peer({ role: "USER", subject: "alice" });
    const jdl = await b.call("POST", "/api/v1/jobs", alice, "Executable = ;");
    assertEquals(jdl.status, 400);
    const lfn = await b.call("GET", "/api/v1/files/alice/%ZZ", alice);
    assertEquals([lfn.status, lfn.json.reason], [400, "bad_lfn"]);
    assertEquals(b.errors, []);
  } finally {
    await b.close();
  }
});

Deno.test("handler: files: put, list, get, delete under the user's own tree", async () => {
  const b = await broker();
  try {
    const alice = await b.peer({ role: "USER", subject: "alice" });
    const put = await b.handler(
      new Request("https://broker.test/api/v1/files/alice/in.txt", {
        method: "PUT",
        body: "hello",
      }),
      alice,
    );
    assertEquals(put.status, 201);
    const { sha256 } = await put.json();
    const list = await b.call("GET", "/api/v1/files", alice);
    assertEquals(
      (list.json.files as { lfn: string }[]).map((f) => f.lfn),
      ["/alice/in.txt"],
    );
    const get = await b.handler(
      new Request("https://broker.test/api/v1/files/alice/in.txt"),
      alice,
    );
    assertEquals(get.headers.get("x-sha256"), sha256);
    assertEquals(await get.text(), "hello");
    const bob = await b.peer({ role: "USER", subject: "bob" });
    const steal = await b.call("GET", "/api/v1/files/alice/in.txt", bob);
    assertEquals(steal.status, 403);
    const del = await b.call("DELETE", "/api/v1/files/alice/in.txt", alice);
    assertEquals([del.status, del.json.deleted], [200, true]);
    assertEquals(
      (await b.call("GET", "/api/v1/files/alice/in.txt", alice)).status,
      404,
    );
  } finally {
    await b.close();
  }
});

Deno.test("handler: an unexpected error is a 500 reported once to onError, and the handler goes on", async () => {
  let fail = true;
  const b = await broker((deps) => ({
    ...deps,
    store: new Proxy(deps.store, {
      get(target, prop, recv) {
        const v = Reflect.get(target, prop, recv);
        if (prop === "list" && fail) {
          return () => Promise.reject(new Error("disk on fire"));
        }
        return typeof v === "function" ? v.bind(target) : v;
      },
    }),
  }));
  try {
    const alice = await b.peer({ role: "USER", subject: "alice" });
    const r = await b.call("GET", "/api/v1/jobs", alice);
    assertEquals(r.status, 500);
    assertEquals(b.errors.length, 1);
    assert(String(b.errors[0]).includes("disk on fire"));
    fail = false;
    assertEquals((await b.call("GET", "/api/v1/jobs", alice)).status, 200);
  } finally {
    await b.close();
  }
});
