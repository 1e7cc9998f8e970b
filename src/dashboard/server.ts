/**
 * `splitpilot dashboard`: a local web page for one user's jobs, in the
 * manner of `kubectl proxy`. The page talks only to this small server on
 * loopback; the server talks to the broker over mutual TLS with the
 * user's token, so the browser never handles a certificate.
 *
 * - Access needs the session key printed in the URL (`/?key=…`), which
 *   the first request trades for an HttpOnly, SameSite=Strict cookie: other
 *   local users and other sites' pages cannot drive it.
 * - `GET /events` is a server-sent event stream: the job list whenever it
 *   changes, jobs per state over time, and the sites, polled from the
 *   broker every `pollMs` by the server (once, whatever the number of
 *   open pages).
 * - `/api/…` proxies the few broker calls the page makes: a job, its
 *   trace and live log, kill and resubmit.
 *
 * Everything the page needs is in this process (no CDN): it works offline.
 *
 * @example
 * ```ts ignore
 * const d = await startDashboard({ client, listen: "127.0.0.1:8080" });
 * console.log(d.url); // http://127.0.0.1:8080/?key=…
 * await d.close();
 * ```
 *
 * @module
 */
import { type BrokerClient, BrokerError } from "../client/broker_client.ts";
import { CountHistory } from "./history.ts";
import { DASHBOARD_HTML } from "./page.ts";

/** Options of {@link startDashboard}. */
export interface DashboardOptions {
  /** Broker client with the user's token. */
  client: BrokerClient;
  /** `host:port` to listen on (loopback by default). @default "127.0.0.1:8080" */
  listen?: string;
  /** Broker poll interval, ms. @default 1000 */
  pollMs?: number;
  /** Session key. @default random */
  key?: string;
}

/** A running dashboard. */
export interface Dashboard {
  /** The URL to open (with the session key). */
  url: string;
  /** Stops the server and the poller. */
  close(): Promise<void>;
}

interface Snapshot {
  jobs: unknown[];
  sites: unknown[];
  error?: string;
}

function parseListen(listen: string): { hostname: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(listen);
  if (!m || Number(m[2]) > 65535) {
    throw new TypeError(
      `--listen ${listen}: expected HOST:PORT, e.g. 127.0.0.1:8080`,
    );
  }
  return { hostname: m[1], port: Number(m[2]) };
}

function randomKey(): string {
  const b = crypto.getRandomValues(new Uint8Array(18));
  return btoa(String.fromCharCode(...b)).replaceAll("+", "-").replaceAll(
    "/",
    "_",
  );
}

/** Starts the dashboard; see the module doc. */
export function startDashboard(opts: DashboardOptions): Promise<Dashboard> {
  const { hostname, port } = parseListen(opts.listen ?? "127.0.0.1:8080");
  const key = opts.key ?? randomKey();
  const client = opts.client;
  const history = new CountHistory();
  const listeners = new Set<(event: string, data: string) => void>();
  const streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
  let snapshot: Snapshot = { jobs: [], sites: [] };
  let last = "";

  const broadcast = (event: string, data: unknown) => {
    const text = JSON.stringify(data);
    for (const l of listeners) l(event, text);
  };

  const poll = async () => {
    const next: Snapshot = { jobs: [], sites: [] };
    try {
      next.jobs = (await client.json<{ jobs: unknown[] }>(
        "GET",
        "/api/v1/jobs?limit=10000",
      ))
        ?.jobs ?? [];
      next.sites =
        (await client.json<{ sites: unknown[] }>("GET", "/api/v1/sites"))
          ?.sites ?? [];
    } catch (e) {
      next.error = (e as Error).message;
    }
    const text = JSON.stringify(next);
    const sample = history.add(next.jobs as { state: string }[]);
    if (text !== last) {
      last = text;
      snapshot = next;
      broadcast("snapshot", next);
    }
    broadcast("sample", sample);
  };

  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let polling: Promise<void> = Promise.resolve();
  const loop = () => {
    polling = poll().finally(() => {
      if (!stopped) timer = setTimeout(loop, opts.pollMs ?? 1000);
    });
  };

  const authorized = (req: Request, url: URL): boolean =>
    url.searchParams.get("key") === key ||
    (req.headers.get("cookie") ?? "").split(/;\s*/).includes(
      `sp_session=${key}`,
    );

  const proxy = async (method: string, path: string): Promise<Response> => {
    try {
      const res = await client.request(method, path, {
        retry: method === "GET",
      });
      return new Response(res.body, {
        status: res.status,
        headers: {
          "content-type": res.headers.get("content-type") ?? "application/json",
        },
      });
    } catch (e) {
      const status = e instanceof BrokerError && e.status ? e.status : 502;
      return Response.json({
        error: (e as Error).message,
        reason: e instanceof BrokerError ? e.reason : "unreachable",
      }, { status });
    }
  };

  const handler = (req: Request): Promise<Response> | Response => {
    const url = new URL(req.url);
    if (!authorized(req, url)) {
      return new Response(
        "open the URL splitpilot dashboard printed (it carries the session key)\n",
        {
          status: 401,
        },
      );
    }
    const p = url.pathname;
    if (p === "/" && req.method === "GET") {
      const headers = new Headers({
        "content-type": "text/html; charset=utf-8",
        "content-security-policy":
          "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:",
        "cache-control": "no-store",
      });
      if (url.searchParams.get("key") === key) {
        headers.set(
          "set-cookie",
          `sp_session=${key}; HttpOnly; SameSite=Strict; Path=/`,
        );
      }
      return new Response(DASHBOARD_HTML, { headers });
    }
    if (p === "/events" && req.method === "GET") {
      let send: (event: string, data: string) => void;
      let stream: ReadableStreamDefaultController<Uint8Array>;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          stream = controller;
          const enc = new TextEncoder();
          send = (event, data) => {
            try {
              controller.enqueue(
                enc.encode(`event: ${event}\ndata: ${data}\n\n`),
              );
            } catch { /* closed */ }
          };
          listeners.add(send);
          streams.add(controller);
          send("snapshot", JSON.stringify(snapshot));
          send("history", JSON.stringify(history.samples()));
        },
        cancel() {
          listeners.delete(send);
          streams.delete(stream);
        },
      });
      return new Response(body, {
        headers: {
          "content-type": "text/event-stream",
          "cache-control": "no-store",
        },
      });
    }
    const m = /^\/api\/jobs\/(\d{1,18})(\/trace|\/log|\/kill|\/resubmit)?$/
      .exec(p);
    if (m) {
      const [, id, what = ""] = m;
      const post = what === "/kill" || what === "/resubmit";
      if (post !== (req.method === "POST")) {
        return new Response("method not allowed\n", { status: 405 });
      }
      // Same-origin writes only (the cookie is SameSite=Strict as well).
      const origin = req.headers.get("origin");
      if (post && origin !== null && origin !== url.origin) {
        return new Response("cross-origin request refused\n", { status: 403 });
      }
      const after = Number(url.searchParams.get("after") ?? "0");
      const q = what === "/log" && Number.isInteger(after)
        ? `?after=${after}`
        : "";
      return proxy(req.method, `/api/v1/jobs/${id}${what}${q}`);
    }
    return new Response("not found\n", { status: 404 });
  };

  return new Promise((resolve, reject) => {
    let server: Deno.HttpServer;
    try {
      server = Deno.serve({
        hostname,
        port,
        onListen: (addr) => {
          loop();
          const host = addr.hostname.includes(":")
            ? `[${addr.hostname}]`
            : addr.hostname;
          resolve({
            url: `http://${host}:${addr.port}/?key=${key}`,
            close: async () => {
              stopped = true;
              clearTimeout(timer);
              await polling;
              listeners.clear();
              for (const c of streams) {
                try {
                  c.close();
                } catch { /* closed */ }
              }
              streams.clear();
              await server.shutdown();
            },
          });
        },
        onError: (e) =>
          Response.json({ error: (e as Error).message }, { status: 500 }),
      }, handler);
    } catch (e) {
      reject(e);
    }
  });
}
