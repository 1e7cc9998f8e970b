/**
 * The wrapper's end of the relay (docs/ARCHITECTURE.md, "The relay"): a
 * `fetch` that sends each broker call to the agent as frames instead of
 * opening a connection. The wrapper has no network permission at all;
 * `BrokerClient` takes {@linkcode RelayClient.fetch} as its transport, so
 * staging, reports and uploads are the same code as with a direct
 * connection, and any endpoint the job role may call passes through.
 *
 * @module
 */
import {
  BodyFlag,
  decodeBody,
  decodeCredit,
  encodeBody,
  encodeCredit,
} from "../pipe/relay_frames.ts";
import { BodyInlet, CreditGate, pumpBody } from "../pipe/relay_flow.ts";
import {
  decodeJson,
  type Frame,
  FrameType,
  type FrameWriter,
} from "../pipe/mod.ts";
import type {
  RelayCancelMessage,
  RelayHeaders,
  RelayRequestMessage,
  RelayResponseMessage,
} from "../protocol/relay_messages.ts";

/** Statuses whose responses have no body (the Response constructor insists). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

interface Call {
  resolve: (res: Response) => void;
  reject: (e: unknown) => void;
  answered: boolean;
  /** Credit for our request body, while it is being sent. */
  gate?: CreditGate;
  /** The response body, while it arrives. */
  inlet?: BodyInlet;
}

/** The `fetch` signature `BrokerClient` accepts as a transport. */
export type Transport = (url: string, init: RequestInit) => Promise<Response>;

/**
 * Sends broker calls over the pipe. Feed it every relay frame from stdin
 * ({@linkcode RelayClient.handle}); {@linkcode RelayClient.close} fails
 * whatever is still open when stdin ends.
 *
 * @example
 * ```ts ignore
 * const relay = new RelayClient(out); // out: FrameWriter on stdout
 * const broker = new BrokerClient(start.broker, undefined, {
 *   transport: relay.fetch,
 * });
 * // and in the stdin loop: if (relay.handle(frame)) continue;
 * ```
 */
export class RelayClient {
  #out: FrameWriter;
  #next = 1;
  #calls = new Map<number, Call>();
  #closed: Error | undefined;

  /** Sends its frames with `out` (the wrapper's stdout writer). */
  constructor(out: FrameWriter) {
    this.#out = out;
  }

  /** Calls still open (sent, not yet fully answered). */
  get open(): number {
    return this.#calls.size;
  }

  /**
   * `fetch` over the relay: only the path and query of `url` count (the
   * agent knows the broker). Rejects with a `TypeError` when the call
   * could not reach the broker, as `fetch` does on a network failure.
   */
  fetch: Transport = (url, init) => {
    if (this.#closed) {
      return Promise.reject(new TypeError(this.#closed.message));
    }
    const u = new URL(url);
    const id = this.#next++;
    if (this.#next > 0xffff_fff0) this.#next = 1;
    const headers: RelayHeaders = [...new Headers(init.headers).entries()];
    const body = init.body ?? undefined;
    const stream = body === undefined || body === null
      ? undefined
      : body instanceof ReadableStream
      ? body as ReadableStream<Uint8Array>
      : new Response(body as BodyInit).body!;
    const request: RelayRequestMessage = {
      id,
      method: (init.method ?? "GET").toUpperCase(),
      path: u.pathname + u.search,
      headers,
      body: stream !== undefined,
    };
    return new Promise<Response>((resolve, reject) => {
      const call: Call = { resolve, reject, answered: false };
      this.#calls.set(id, call);
      const signal = init.signal;
      const onAbort = () =>
        this.#abandon(id, signal?.reason ?? new Error("aborted"));
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#out.send(FrameType.RelayRequest, request).catch((e) =>
        this.#finish(id, e)
      );
      if (stream) {
        const gate = call.gate = new CreditGate();
        pumpBody(
          stream,
          gate,
          (flag, data) =>
            this.#out.sendBytes(
              FrameType.RelayBody,
              encodeBody(id, flag, data),
            ),
        )
          .catch((e) => {
            // Our body failed or was cancelled: the call cannot succeed.
            if (!call.answered) this.#finish(id, e);
          })
          .finally(() => {
            call.gate = undefined;
            this.#settled(id);
          });
      }
    });
  };

  /**
   * Handles one frame from the agent; returns false for frames that are
   * not the relay's (cancel, …), which the caller handles.
   */
  handle(frame: Frame): boolean {
    switch (frame.type) {
      case FrameType.RelayResponse:
        this.#response(decodeJson<RelayResponseMessage>(frame));
        return true;
      case FrameType.RelayBody: {
        const b = decodeBody(frame.payload);
        const inlet = this.#calls.get(b.id)?.inlet;
        if (!inlet) return true; // a call we already gave up
        if (b.flag === BodyFlag.Abort) {
          inlet.fail(
            new Error(
              `broker answer broke off: ${new TextDecoder().decode(b.data)}`,
            ),
          );
        } else {
          try {
            inlet.push(b.data);
          } catch { /* the inlet failed itself; its reader sees why */ }
          if (b.flag === BodyFlag.End) inlet.end();
        }
        if (inlet.finished) this.#settled(b.id, true);
        return true;
      }
      case FrameType.RelayCredit: {
        const c = decodeCredit(frame.payload);
        this.#calls.get(c.id)?.gate?.grant(c.bytes);
        return true;
      }
      case FrameType.RelayCancel: {
        const c = decodeJson<RelayCancelMessage>(frame);
        this.#finish(c.id, new TypeError(`relay: ${c.message}`), false);
        return true;
      }
    }
    return false;
  }

  /** The pipe is gone: every open call fails like a lost connection. */
  close(reason = "the agent's pipe closed"): void {
    this.#closed ??= new Error(`relay: ${reason}`);
    for (const id of [...this.#calls.keys()]) {
      this.#finish(id, new TypeError(this.#closed.message), false);
    }
  }

  #response(m: RelayResponseMessage): void {
    const call = this.#calls.get(m.id);
    if (!call || call.answered) return;
    call.answered = true;
    if (m.error !== undefined || m.status === 0) {
      call.gate?.fail(new Error("call refused"));
      if (m.status === 0) {
        call.reject(new TypeError(`relay: ${m.error ?? "broker unreachable"}`));
      } else {
        // The same shape as a broker error, so BrokerError carries it.
        call.resolve(
          new Response(
            JSON.stringify({ reason: m.reason, error: m.error }),
            {
              status: m.status,
              headers: { "content-type": "application/json" },
            },
          ),
        );
      }
      this.#calls.delete(m.id);
      return;
    }
    // A request body the broker did not take by now it never will.
    call.gate?.fail(new Error("the broker answered before reading the body"));
    let body: ReadableStream<Uint8Array> | null = null;
    if (m.body && !NULL_BODY.has(m.status)) {
      const inlet = call.inlet = new BodyInlet({
        grant: (n) =>
          void this.#out.sendBytes(
            FrameType.RelayCredit,
            encodeCredit(m.id, n),
          ).catch(() => {}),
        onCancel: () => {
          this.#send(FrameType.RelayCancel, {
            id: m.id,
            message: "the wrapper stopped reading the answer",
          });
          this.#calls.delete(m.id);
        },
      });
      body = inlet.stream;
    }
    call.resolve(new Response(body, { status: m.status, headers: m.headers }));
    this.#settled(m.id);
  }

  /** Drops the call once nothing of it is in flight any more. */
  #settled(id: number, force = false): void {
    const call = this.#calls.get(id);
    if (!call || !call.answered || call.gate) return;
    if (!force && call.inlet && !call.inlet.finished) return;
    this.#calls.delete(id);
  }

  /** We gave the call up (abort, timeout): tell the agent. */
  #abandon(id: number, reason: unknown): void {
    if (!this.#calls.has(id)) return;
    this.#send(FrameType.RelayCancel, {
      id,
      message: reason instanceof Error ? reason.message : String(reason),
    });
    this.#finish(id, reason, false);
  }

  #finish(id: number, e: unknown, tell = true): void {
    const call = this.#calls.get(id);
    if (!call) return;
    this.#calls.delete(id);
    const err = e instanceof Error ? e : new Error(String(e));
    call.gate?.fail(err);
    call.inlet?.fail(err);
    if (!call.answered) {
      call.answered = true;
      call.reject(e);
    }
    if (tell) {
      this.#send(FrameType.RelayCancel, { id, message: err.message });
    }
  }

  #send(type: FrameType, value: RelayCancelMessage): void {
    this.#out.send(type, value).catch(() => {});
  }
}
