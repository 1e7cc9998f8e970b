/**
 * The wrapper's state reports to the broker, one ordered chain, with as few
 * round trips as the states allow (README "Performance"):
 *
 * - a report is one `POST …/status`, resent until acknowledged;
 * - {@link JobReporter.reportMany} sends several states as one batch
 *   (`POST …/batch`, `src/broker/batch.ts`), e.g. STARTED and RUNNING of a
 *   job with nothing to stage, where nobody can observe the difference;
 * - {@link JobReporter.finish} sends SAVING, the small outputs and the
 *   final state as one batch; big outputs still stream as `PUT`s of their
 *   own between SAVING and the final state.
 *
 * Each state still goes to the agent as its own `status` frame, first, and
 * still lands in the trace as its own transition.
 *
 * @module
 */
import { type BrokerClient, BrokerError } from "../client/broker_client.ts";
import { resend } from "../client/resend.ts";
import { FrameType, type FrameWriter } from "../pipe/mod.ts";
import {
  batchPath,
  type BatchStep,
  fileStep,
  MAX_INLINE_FILE_BYTES,
} from "../protocol/batch.ts";
import type { StartMessage } from "../protocol/mod.ts";
import { openOutput } from "./output_guard.ts";
import { type OutputItem, uploadOutputs } from "./upload_outputs.ts";

/** One state report. */
export interface StateReport {
  /** The state. */
  state: string;
  /** Why (lands in the trace). */
  message?: string;
  /** More fields of the report (`exitCode`). */
  extra?: Record<string, unknown>;
}

/** Inline outputs of one batch, at most (bytes of file data). */
const MAX_INLINE_TOTAL = 1024 * 1024;

/** See the module doc. */
export class JobReporter {
  #broker: BrokerClient;
  #start: StartMessage;
  #out: FrameWriter;
  #log: (line: string) => void;
  #onRefused: (e: BrokerError) => void;
  #chain: Promise<void> = Promise.resolve();

  /**
   * @param onRefused called when the broker refuses the job token (401):
   * the job is no longer ours.
   */
  constructor(
    broker: BrokerClient,
    start: StartMessage,
    out: FrameWriter,
    log: (line: string) => void,
    onRefused: (e: BrokerError) => void,
  ) {
    this.#broker = broker;
    this.#start = start;
    this.#out = out;
    this.#log = log;
    this.#onRefused = onRefused;
  }

  /** Settles once every report sent so far has landed (or failed). */
  get settled(): Promise<void> {
    return this.#chain;
  }

  /** Reports one state (frame now, broker in order). */
  report(
    state: string,
    message?: string,
    extra: Record<string, unknown> = {},
  ): Promise<void> {
    return this.reportMany([{ state, message, extra }]);
  }

  /** Reports several states in order, to the broker in one request. */
  reportMany(
    states: StateReport[],
    files: BatchStep[] = [],
    strict = false,
  ): Promise<void> {
    if (states.length === 0 && files.length === 0) return Promise.resolve();
    for (const s of states) {
      this.#out.send(FrameType.Status, {
        state: s.state,
        message: s.message,
        ...s.extra,
      }).catch(() => {});
    }
    const name = states.map((s) => s.state).join("+");
    const next = this.#chain.then(() =>
      this.#post(name, () => this.#send(states, files), strict)
    );
    this.#chain = next.catch(() => {});
    return next;
  }

  /**
   * SAVING, the outputs and `final` (DONE), in as few requests as their
   * sizes allow. Throws when an output cannot be uploaded (the caller
   * reports ERROR_SV).
   */
  async finish(items: OutputItem[], final: StateReport): Promise<void> {
    const saving: StateReport = {
      state: "SAVING",
      message: "uploading outputs",
      extra: { exitCode: 0 },
    };
    const inline: BatchStep[] = [];
    const big: OutputItem[] = [];
    let total = 0;
    for (const item of items) {
      const bytes = await readSmall(item, MAX_INLINE_TOTAL - total);
      if (bytes) {
        total += bytes.byteLength;
        inline.push(await fileStep(this.#lfn(item), bytes));
      } else big.push(item);
    }
    if (big.length > 0) {
      await this.report(saving.state, saving.message, saving.extra);
      await uploadOutputs(this.#broker, this.#start, big, this.#log);
      await this.reportMany([final], inline, true);
    } else {
      await this.reportMany([saving, final], inline, true);
    }
    for (const item of items) {
      if (!big.includes(item)) {
        this.#log(`uploaded ${item.name} → ${this.#lfn(item)} (in the report)`);
      }
    }
  }

  /**
   * A failed job's end: its logs (best effort: a log that cannot be
   * uploaded does not hide the failure) and `states` (the error, after
   * SAVING where that comes first), in one request when the logs are
   * small.
   */
  async failWith(items: OutputItem[], states: StateReport[]): Promise<void> {
    const inline: BatchStep[] = [];
    const big: OutputItem[] = [];
    let total = 0;
    for (const item of items) {
      const bytes = await readSmall(item, MAX_INLINE_TOTAL - total).catch(
        () => undefined,
      );
      if (bytes) {
        total += bytes.byteLength;
        inline.push({
          ...await fileStep(this.#lfn(item), bytes),
          bestEffort: true,
        });
      } else big.push(item);
    }
    if (big.length > 0) {
      await uploadOutputs(this.#broker, this.#start, big, this.#log).catch(
        (e) =>
          this.#log(
            `could not upload logs of the failed job: ${(e as Error).message}`,
          ),
      );
    }
    await this.reportMany(states, inline);
  }

  #lfn(item: OutputItem): string {
    return `/${this.#start.user}/jobs/${this.#start.jobId}/${item.name}`;
  }

  async #send(states: StateReport[], files: BatchStep[]): Promise<unknown> {
    const attempt = this.#start.resubmission;
    const body = (s: StateReport) => ({
      state: s.state,
      message: s.message,
      ...s.extra,
      attempt,
    });
    const path = `/api/v1/jobs/${this.#start.jobId}`;
    if (states.length === 1 && files.length === 0) {
      return await this.#broker.json("POST", `${path}/status`, body(states[0]));
    }
    // Files go between the first state and the rest: SAVING, outputs, DONE.
    const [first, ...rest] = states.map((s): BatchStep => ({
      op: "status",
      body: body(s),
    }));
    const steps = states.length > 1
      ? [first, ...files, ...rest]
      : states.length === 1
      ? [...files, first]
      : files; // a failed job's logs when the agent reports its death
    return await this.#broker.json("POST", batchPath(this.#start.jobId), {
      steps,
    });
  }

  /** Resent until acknowledged (see src/client/resend.ts). */
  async #post(
    name: string,
    send: () => Promise<unknown>,
    strict: boolean,
  ): Promise<void> {
    const r = await resend(send, {
      onRetry: (e, n) =>
        n === 1 &&
        this.#log(`report ${name} not acknowledged, resending: ${e.message}`),
    });
    if (r.kind === "acked") return;
    const e = r.error;
    this.#log(
      `could not report ${name} to the broker: ${(e as Error).message}`,
    );
    if (e instanceof BrokerError && e.status === 401) {
      this.#onRefused(e);
      throw e;
    }
    // Outputs in the request: the caller turns the failure into ERROR_SV.
    if (strict) throw e;
  }
}

/** The bytes of `item` when it is at most the inline size and `room`. */
async function readSmall(
  item: OutputItem,
  room: number,
): Promise<Uint8Array<ArrayBuffer> | undefined> {
  const workdir = item.path.slice(0, item.path.length - item.name.length - 1);
  const file = await openOutput(workdir, item.name);
  try {
    const { size } = await file.stat();
    if (size > MAX_INLINE_FILE_BYTES || size > room) return undefined;
    const buf = new Uint8Array(size);
    let off = 0;
    while (off < size) {
      const n = await file.read(buf.subarray(off));
      if (n === null) break;
      off += n;
    }
    // Grown while read: stream it instead.
    if (off !== size || (await file.read(new Uint8Array(1))) !== null) {
      return undefined;
    }
    return buf;
  } finally {
    file.close();
  }
}
