/**
 * The agent's end of the relay (docs/ARCHITECTURE.md, "The relay"): takes
 * the wrapper's broker calls off the pipe and makes them itself, over the
 * agent's own kept-alive mutual-TLS connections, as the job: each call
 * carries the job token the broker handed the agent at match time
 * (`src/broker/relayed_job.ts`). The wrapper holds no key and opens no
 * connection, and no job costs a TLS handshake.
 *
 * Bounds: only job-role calls for this job ({@link relayTarget}); at most
 * `maxOpen` calls at once and `ratePerSecond` (burst `burst`) new calls;
 * bodies move in credit-paced chunks, so each open call holds at most one
 * window (256 KiB) per direction here, whatever the file size; a body past
 * `maxBodyBytes` is cut off. A refusal is an error `RelayResponse`
 * (403 `relay_refused`, 429 `relay_busy`, 400, 413), and the broker's own
 * authorization still applies to everything relayed.
 *
 * @module
 */
import { type BrokerClient, networkCause } from "../client/broker_client.ts";
import { RELAYED_JOB_HEADER } from "../broker/relayed_job.ts";
import { pemToDer } from "../token/pem.ts";
import {
  decodeJson,
  type Frame,
  FrameType,
  type FrameWriter,
} from "../pipe/mod.ts";
import {
  BodyFlag,
  decodeBody,
  decodeCredit,
  encodeBody,
  encodeCredit,
} from "../pipe/relay_frames.ts";
import { BodyInlet, CreditGate, pumpBody } from "../pipe/relay_flow.ts";
import type {
  RelayCancelMessage,
  RelayRequestMessage,
  RelayResponseMessage,
} from "../protocol/relay_messages.ts";
import {
  relayHeaders,
  type RelayRefusal,
  relayTarget,
  responseHeaders,
} from "./relay_scope.ts";
import { RateLimit } from "./rate_limit.ts";

/** Options of {@link RelayServer}. */
export interface RelayServerOptions {
  /** The job the wrapper runs. */
  jobId: string;
  /** Broker base URL. */
  broker: string;
  /** The job token's certificate (from the match answer); the key stays unused. */
  jobCertPem: string;
  /** The agent's own broker client: its connections carry the calls. */
  client: Pick<BrokerClient, "raw">;
  /** Frames to the wrapper (its stdin). */
  out: FrameWriter;
  /** Log sink. */
  log: (line: string) => void;
  /** Calls open at once. @default 8 */
  maxOpen?: number;
  /** New calls per second, sustained. @default 20 */
  ratePerSecond?: number;
  /** New calls allowed in a burst. @default 200 */
  burst?: number;
  /** Largest request or response body, bytes. @default 64 GiB */
  maxBodyBytes?: number;
}

/** What a relay did, for logs, metrics and the bench. */
export interface RelayStats {
  /** Calls forwarded to the broker. */
  forwarded: number;
  /** Calls refused here. */
  refused: number;
  /** Request body bytes forwarded. */
  bytesUp: number;
  /** Response body bytes forwarded. */
  bytesDown: number;
  /**
   * Most request-body bytes held here at once, all calls together: the
   * proof that bodies stream (at most a window per open call).
   */
  maxQueuedBytes: number;
}

interface Call {
  abort: AbortController;
  /** The request body, while it arrives from the wrapper. */
  inlet?: BodyInlet;
  /** Credit for the response body, while it goes to the wrapper. */
  gate?: CreditGate;
}

const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/**
 * Relays one wrapper's broker calls. Feed it every frame from the wrapper
 * ({@link RelayServer.handle} returns false for the others) and close it
 * when the wrapper is done.
 *
 * @example
 * ```ts ignore
 * const relay = new RelayServer({
 *   jobId: job.jobId, broker: "https://127.0.0.1:8443", token: job.token,
 *   out, log: console.error,
 * });
 * for await (const frame of frames) {
 *   if (relay.handle(frame)) continue;
 *   // status, log, end …
 * }
 * await relay.close();
 * ```
 */
export class RelayServer {
  /** Running totals. */
  readonly stats: RelayStats = {
    forwarded: 0,
    refused: 0,
    bytesUp: 0,
    bytesDown: 0,
    maxQueuedBytes: 0,
  };
  #opts: RelayServerOptions;
  #jobCert: string | undefined;
  #calls = new Map<number, Call>();
  #rate: RateLimit;
  #closed = false;

  /** A relay for one job; see {@link RelayServerOptions}. */
  constructor(opts: RelayServerOptions) {
    this.#opts = opts;
    this.#rate = new RateLimit(opts.ratePerSecond ?? 20, opts.burst ?? 200);
  }

  /** Calls open right now. */
  get open(): number {
    return this.#calls.size;
  }

  /**
   * Handles one frame from the wrapper if it belongs to the relay.
   *
   * @throws {ProtocolError} on a relay frame that cannot be decoded.
   */
  handle(frame: Frame): boolean {
    switch (frame.type) {
      case FrameType.RelayRequest:
        this.#request(decodeJson<RelayRequestMessage>(frame));
        return true;
      case FrameType.RelayBody: {
        const b = decodeBody(frame.payload);
        const call = this.#calls.get(b.id);
        const inlet = call?.inlet;
        if (!inlet || inlet.finished) return true; // refused or given up
        if (b.flag === BodyFlag.Abort) {
          inlet.fail(
            new Error(
              `wrapper gave the body up: ${
                new TextDecoder().decode(b.data.subarray(0, 200))
              }`,
            ),
          );
          return true;
        }
        try {
          inlet.push(b.data);
          this.stats.bytesUp += b.data.length;
          let queued = 0;
          for (const c of this.#calls.values()) queued += c.inlet?.queued ?? 0;
          if (queued > this.stats.maxQueuedBytes) {
            this.stats.maxQueuedBytes = queued;
          }
        } catch (e) {
          this.#fail(b.id, (e as Error).message, 413);
          return true;
        }
        if (b.flag === BodyFlag.End) inlet.end();
        return true;
      }
      case FrameType.RelayCredit: {
        const c = decodeCredit(frame.payload);
        this.#calls.get(c.id)?.gate?.grant(c.bytes);
        return true;
      }
      case FrameType.RelayCancel: {
        const c = decodeJson<RelayCancelMessage>(frame);
        this.#drop(
          c.id,
          `wrapper cancelled: ${String(c.message).slice(0, 200)}`,
        );
        return true;
      }
    }
    return false;
  }

  /** Aborts every open call (the agent's connections stay open). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const id of [...this.#calls.keys()]) this.#drop(id, "wrapper ended");
    const s = this.stats;
    this.#opts.log(
      `job ${this.#opts.jobId}: relay: ${s.forwarded} call(s) forwarded, ${s.refused} refused, ${s.bytesUp} bytes up, ${s.bytesDown} bytes down, at most ${s.maxQueuedBytes} bytes held`,
    );
    // Let aborted fetches unwind.
    await new Promise((r) => setTimeout(r, 0));
  }

  #request(m: RelayRequestMessage): void {
    const id = m.id;
    if (!Number.isInteger(id) || id < 1 || id > 0xffff_ffff) {
      this.stats.refused++;
      this.#opts.log(
        `job ${this.#opts.jobId}: relay: request without a valid id refused`,
      );
      return;
    }
    const refuse = (r: RelayRefusal) => {
      this.stats.refused++;
      this.#opts.log(`job ${this.#opts.jobId}: ${r.message}`);
      this.#respond({
        id,
        status: r.status,
        reason: r.reason,
        error: r.message,
      });
    };
    if (this.#closed) {
      return refuse({
        status: 503,
        reason: "relay_closed",
        message: "relay: closed",
      });
    }
    if (this.#calls.has(id)) {
      return refuse({
        status: 400,
        reason: "relay_bad_request",
        message: `relay: call ${id} is already open`,
      });
    }
    const target = relayTarget(
      this.#opts.broker,
      this.#opts.jobId,
      m.method,
      m.path,
    );
    if (!(target instanceof URL)) return refuse(target);
    const headers = relayHeaders(m.headers);
    if (!(headers instanceof Headers)) return refuse(headers);
    try {
      // Encoded at the first call: a wrapper that makes none costs nothing.
      this.#jobCert ??= btoa(
        String.fromCharCode(...pemToDer(this.#opts.jobCertPem)),
      );
    } catch (e) {
      return refuse({
        status: 500,
        reason: "relay_no_token",
        message: `relay: the job token is unusable: ${(e as Error).message}`,
      });
    }
    headers.set(RELAYED_JOB_HEADER, this.#jobCert);
    if (this.#calls.size >= (this.#opts.maxOpen ?? 8)) {
      return refuse({
        status: 429,
        reason: "relay_busy",
        message: `relay: more than ${
          this.#opts.maxOpen ?? 8
        } calls open at once`,
      });
    }
    if (!this.#rate.take()) {
      return refuse({
        status: 429,
        reason: "relay_busy",
        message: `relay: more than ${
          this.#opts.ratePerSecond ?? 20
        } calls per second`,
      });
    }
    const call: Call = { abort: new AbortController() };
    if (m.body === true) {
      call.inlet = new BodyInlet({
        grant: (n) =>
          void this.#opts.out.sendBytes(
            FrameType.RelayCredit,
            encodeCredit(id, n),
          ).catch(() => {}),
        maxBytes: this.#opts.maxBodyBytes ?? 64 * 2 ** 30,
      });
    }
    this.#calls.set(id, call);
    this.stats.forwarded++;
    this.#forward(id, call, m.method, target, headers).catch((e) =>
      this.#opts.log(`job ${this.#opts.jobId}: relay: ${(e as Error).message}`)
    );
  }

  async #forward(
    id: number,
    call: Call,
    method: string,
    url: URL,
    headers: Headers,
  ): Promise<void> {
    let res: Response;
    try {
      res = await this.#opts.client.raw(url, {
        method,
        headers,
        body: call.inlet?.stream,
        signal: call.abort.signal,
      });
    } catch (e) {
      if (!call.abort.signal.aborted) {
        const why = call.inlet?.finished === false
          ? (e as Error).message
          : networkCause(e);
        this.#respond({ id, status: 0, error: `broker unreachable: ${why}` });
      }
      this.#calls.delete(id);
      return;
    }
    // Whatever of the request body the broker did not read, it never will.
    call.inlet?.fail(new Error("the broker answered"));
    const hasBody = res.body !== null && !NULL_BODY.has(res.status);
    this.#respond({
      id,
      status: res.status,
      headers: responseHeaders(res.headers),
      body: hasBody,
    });
    if (!hasBody || this.#closed || call.abort.signal.aborted) {
      await res.body?.cancel().catch(() => {});
      this.#calls.delete(id);
      return;
    }
    const gate = call.gate = new CreditGate();
    call.abort.signal.addEventListener(
      "abort",
      () => gate.fail(new Error("cancelled")),
      { once: true },
    );
    try {
      this.stats.bytesDown += await pumpBody(
        res.body!,
        gate,
        (flag, data) =>
          this.#opts.out.sendBytes(
            FrameType.RelayBody,
            encodeBody(id, flag, data),
          ),
        this.#opts.maxBodyBytes ?? 64 * 2 ** 30,
      );
    } catch { /* cancelled, or the wrapper is gone: nothing to tell */ }
    this.#calls.delete(id);
  }

  /** A body broke a bound: answer with `status` (if not answered) and drop. */
  #fail(id: number, message: string, status: number): void {
    this.#opts.log(`job ${this.#opts.jobId}: relay: ${message}`);
    this.#respond({
      id,
      status,
      reason: "relay_too_large",
      error: `relay: ${message}`,
    });
    this.#drop(id, message);
  }

  #drop(id: number, why: string): void {
    const call = this.#calls.get(id);
    if (!call) return;
    this.#calls.delete(id);
    call.inlet?.fail(new Error(why));
    call.gate?.fail(new Error(why));
    call.abort.abort(new Error(why));
  }

  #respond(m: RelayResponseMessage): void {
    this.#opts.out.send(FrameType.RelayResponse, m).catch(() => {});
  }
}
