/**
 * HTTPS client of the broker API, authenticated by a token certificate.
 *
 * Used by the agent (JOB_AGENT token), the wrapper (JOB token) and the CLI
 * (USER token). It needs the token only as PEM strings, so the wrapper's
 * start path never loads an X.509 library.
 *
 * @module
 */

import type { TokenPem } from "../protocol/token_pem.ts";

export type { TokenPem };

import { retrySafe } from "./retry_policy.ts";
import { whenSent } from "./body_sent.ts";
import { brokerUrls } from "./broker_addresses.ts";

export { brokerUrls };

/** A non-2xx answer of the broker, or a failure to reach it. */
export class BrokerError extends Error {
  /** HTTP status; 0 when the broker could not be reached. */
  readonly status: number;
  /** The broker's machine-readable reason, or `unreachable`. */
  readonly reason: string;
  /**
   * The broker's current view of the job, when a 409 carries one: proof
   * that the job moved on and a resent report cannot apply.
   */
  readonly view?: { state: string; attempt: number };
  /**
   * @param status the HTTP status, or 0 when the broker could not be reached.
   * @param reason the broker's machine-readable reason, or `unreachable`.
   * @param message the broker's human line, or the network error.
   * @param view the job's current state and attempt, from a 409.
   */
  constructor(
    status: number,
    reason: string,
    message: string,
    view?: { state: string; attempt: number },
  ) {
    super(message);
    this.name = "BrokerError";
    this.status = status;
    this.reason = reason;
    this.view = view;
  }
}

/** Options of {@link BrokerClient}. */
export interface BrokerClientOptions {
  /**
   * Attempts for calls that are safe to repeat
   * ({@link ./retry_policy.ts}) when the broker is unreachable. @default 3
   */
  retries?: number;
  /** First retry delay, ms (doubles). @default 200 */
  retryDelayMs?: number;
  /**
   * How long to wait for the response headers, ms. A request that gets no
   * answer in time is abandoned (its connection dropped) and, where
   * retrying is allowed, sent again on a fresh connection. @default 20000
   */
  headersTimeoutMs?: number;
  /**
   * Sends each request instead of `fetch` over mutual TLS: the wrapper's
   * relay through the agent (`src/wrapper/relay_client.ts`). With it the
   * client needs no token and opens no connection itself.
   */
  transport?: (url: string, init: RequestInit) => Promise<Response>;
}

/** Reads `cert.pem`, `key.pem`, `ca.pem` from a token directory. */
export async function readTokenDir(dir: string): Promise<TokenPem> {
  const [certPem, keyPem, caPem] = await Promise.all(
    ["cert.pem", "key.pem", "ca.pem"].map((f) =>
      Deno.readTextFile(`${dir}/${f}`)
    ),
  );
  return { certPem, keyPem, caPem };
}

/**
 * The broker API client. Given several broker URLs (replicas sharing one
 * database: a list, or one string with commas), it talks to one at a time
 * (starting at a random one, so many clients spread over the replicas)
 * and moves on to the next when that one cannot be reached (README
 * "Scaling out").
 */
export class BrokerClient {
  #urls: string[];
  #current = 0;
  #client: Deno.HttpClient | undefined;
  #transport: BrokerClientOptions["transport"];
  #retries: number;
  #delay: number;
  #headersTimeout: number;

  /**
   * Creates a client for `url` (one URL, a comma-separated list, or an
   * array: replicas to fail over between) presenting `token`; without a
   * token, `opts.transport` must carry the requests.
   */
  constructor(
    url: string | readonly string[],
    token: TokenPem | undefined,
    opts: BrokerClientOptions = {},
  ) {
    this.#urls = brokerUrls(url);
    if (this.#urls.length === 0) throw new TypeError("no broker URL given");
    // Clients start at a random replica: a grid's agents spread over them.
    this.#current = Math.floor(Math.random() * this.#urls.length);
    this.#transport = opts.transport;
    if (!token && !opts.transport) {
      throw new TypeError("a broker client needs a token or a transport");
    }
    this.#client = opts.transport ? undefined : Deno.createHttpClient({
      caCerts: [token!.caPem],
      cert: token!.certPem,
      key: token!.keyPem,
    });
    this.#retries = opts.retries ?? 3;
    this.#delay = opts.retryDelayMs ?? 200;
    this.#headersTimeout = opts.headersTimeoutMs ?? 20000;
  }

  /** Sends a request; throws {@link BrokerError} unless the status is 2xx. */
  async request(
    method: string,
    path: string,
    init: { body?: BodyInit; headers?: HeadersInit; retry?: boolean } = {},
  ): Promise<Response> {
    const safe = init.retry ??
      retrySafe(method, path, new Headers(init.headers));
    // Each broker gets the retries; a failure moves on to the next one.
    const n = this.#urls.length;
    const attempts = safe ? this.#retries * n : 1;
    let lastError: unknown;
    let tried = 0;
    for (let i = 0; i < attempts || (refused(lastError) && tried < n); i++) {
      let res: Response;
      tried++;
      const url = this.url;
      // Only the wait for headers is bounded: a download body may stream
      // for as long as it needs.
      const abort = new AbortController();
      let answered = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const bound = () => {
        if (answered) return;
        timer = setTimeout(
          () =>
            abort.abort(
              new Error(`no answer within ${this.#headersTimeout} ms`),
            ),
          this.#headersTimeout,
        );
      };
      // A streamed upload sends its whole body before any answer comes:
      // its wait starts once the body is sent (a broker that never answers
      // held a wrapper's output upload until the job's TTL).
      const body = init.body instanceof ReadableStream
        ? whenSent(init.body, bound)
        : init.body;
      if (body === init.body) bound();
      try {
        const req = {
          method,
          body,
          headers: init.headers,
          signal: abort.signal,
        };
        res = this.#transport
          ? await this.#transport(url + path, req)
          : await fetch(url + path, { ...req, client: this.#client });
      } catch (e) {
        // Deno's permissions said no: retrying cannot help, and the caller
        // names the refused host.
        if (
          e instanceof Deno.errors.NotCapable ||
          e instanceof Deno.errors.PermissionDenied
        ) throw e;
        lastError = abort.signal.aborted ? abort.signal.reason : e;
        // Next replica at once; after a round of them all, back off.
        this.#current = (this.#current + 1) % n;
        if (i + 1 < attempts && (i + 1) % n === 0) {
          await new Promise((r) =>
            setTimeout(r, this.#delay * 2 ** Math.floor(i / n))
          );
        }
        continue;
      } finally {
        answered = true;
        clearTimeout(timer);
      }
      if (res.ok) return res;
      let reason = "http_error";
      let message = `${method} ${path}: HTTP ${res.status}`;
      let view;
      try {
        const body = await res.json();
        reason = body.reason ?? reason;
        message = body.error ?? message;
        view = body.job;
      } catch { /* not JSON */ }
      throw new BrokerError(res.status, reason, message, view);
    }
    throw new BrokerError(
      0,
      "unreachable",
      `broker ${this.#urls.join(", ")} unreachable: ${networkCause(lastError)}`,
    );
  }

  /** Base URL of the broker in use, e.g. `https://127.0.0.1:8443`. */
  get url(): string {
    return this.#urls[this.#current];
  }

  /** Every broker URL this client may use, in order. */
  get urls(): readonly string[] {
    return this.#urls;
  }

  /**
   * Sends one request as it is, over this client's kept-alive connections:
   * no retry, no error mapping. The agent's relay forwards its wrapper's
   * calls with it and hands back whatever the broker answered.
   */
  raw(url: string | URL, init: RequestInit): Promise<Response> {
    // A URL below any replica goes to the one in use; an unreachable one
    // makes the next call go to the next replica (the caller retries).
    const u = new URL(url);
    const current = new URL(this.url);
    if (this.#urls.some((b) => new URL(b).origin === u.origin)) {
      u.protocol = current.protocol;
      u.host = current.host;
    }
    const sent = this.#transport
      ? this.#transport(String(u), init)
      : fetch(u, { ...init, client: this.#client });
    return sent.catch((e) => {
      if (!init.signal?.aborted) {
        this.#current = (this.#current + 1) % this.#urls.length;
      }
      throw e;
    });
  }

  /** Sends JSON (if `body` is given) and parses a JSON answer. */
  async json<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<T | undefined> {
    const res = await this.request(method, path, {
      body: body === undefined ? undefined : JSON.stringify(body),
      headers: body === undefined
        ? undefined
        : { "content-type": "application/json" },
    });
    if (res.status === 204) return undefined;
    return await res.json() as T;
  }

  /**
   * Submits a JDL; a retry after a lost answer returns the same job (the
   * request carries `key`, a fresh UUID unless given).
   */
  async submit(
    jdl: string,
    key: string = crypto.randomUUID(),
  ): Promise<{ jobId: string; state: string }> {
    const res = await this.request("POST", "/api/v1/jobs", {
      body: jdl,
      headers: {
        "content-type": "text/plain; charset=utf-8",
        "idempotency-key": key,
      },
    });
    return await res.json();
  }

  /**
   * Asks for a job for `slot`; undefined when none fits. Repeat a
   * `requestKey` whose answer was lost (error with status 0) to get the
   * job that request claimed, if any, instead of stranding it.
   */
  async match<T = Record<string, unknown>>(
    slot: unknown,
    requestKey: string,
  ): Promise<T | undefined> {
    const res = await this.request("POST", "/api/v1/match", {
      body: JSON.stringify(slot),
      headers: {
        "content-type": "application/json",
        "idempotency-key": requestKey,
      },
    });
    if (res.status === 204) return undefined;
    return await res.json() as T;
  }

  /** Uploads a stream to `lfn`; `sha256` makes the broker verify it. */
  async upload(
    lfn: string,
    body: ReadableStream<Uint8Array> | Uint8Array,
    sha256?: string,
  ): Promise<{ lfn: string; size: number; sha256: string }> {
    const res = await this.request("PUT", `/api/v1/files${encodeLfn(lfn)}`, {
      body: body as BodyInit,
      headers: sha256 ? { "x-sha256": sha256 } : undefined,
      retry: body instanceof Uint8Array,
    });
    return await res.json();
  }

  /** Starts a download; the caller consumes `res.body`. */
  download(lfn: string): Promise<Response> {
    return this.request("GET", `/api/v1/files${encodeLfn(lfn)}`);
  }

  /** Releases the connection pool. */
  close(): void {
    this.#client?.close();
  }
}

/**
 * Whether a failed fetch never reached a broker (connection refused): the
 * request was not sent, so another replica may take it whatever it is.
 */
function refused(e: unknown): boolean {
  return e !== undefined && /connection refused/i.test(networkCause(e));
}

/** Percent-encodes each LFN segment, keeping the slashes. */
export function encodeLfn(lfn: string): string {
  return lfn.split("/").map(encodeURIComponent).join("/");
}

/**
 * The innermost useful cause of a failed fetch in a few words
 * ("connection refused", "certificate not valid for this name"), instead
 * of "fetch failed" or a chain of wrapped messages.
 */
export function networkCause(e: unknown): string {
  const parts: string[] = [];
  for (let c = e as Error | undefined, i = 0; c && i < 5; i++) {
    if (c.message) parts.push(c.message);
    c = (c as { cause?: Error }).cause;
  }
  const text = parts.join(": ");
  if (/connection refused/i.test(text)) {
    return "connection refused (is the broker running on that host and port?)";
  }
  if (/NotValidForName|not valid for name|CertNotValidForName/i.test(text)) {
    return "its certificate does not name this host (start the broker with --san NAME)";
  }
  if (/UnknownIssuer|unknown ?issuer|invalid peer certificate/i.test(text)) {
    return `its certificate is not signed by your token's CA (${
      text.slice(0, 200)
    })`;
  }
  if (/dns error|failed to lookup|Name or service not known/i.test(text)) {
    return "unknown host name";
  }
  if (/timed? ?out|no answer within/i.test(text)) return text;
  return text.split("\n")[0] || "fetch failed";
}
