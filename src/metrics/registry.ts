/**
 * A small Prometheus registry: counters, gauges and histograms with
 * labels, written in the text exposition format (version 0.0.4). Enough
 * for the broker's own metrics without a dependency.
 *
 * @example
 * ```ts
 * import { Registry } from "./registry.ts";
 * const r = new Registry();
 * const jobs = r.counter("splitpilot_submissions_total", "Jobs submitted.", ["user"]);
 * jobs.inc({ user: "jdoe" });
 * r.text(); // "# HELP splitpilot_submissions_total Jobs submitted.\n# TYPE …"
 * ```
 *
 * @module
 */

/** Label values by label name. */
export type Labels = Record<string, string>;

/** Escapes a label value (backslash, double quote, newline). */
function escapeLabel(v: string): string {
  return v.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll(
    "\n",
    "\\n",
  );
}

function labelText(
  names: readonly string[],
  values: readonly string[],
): string {
  if (names.length === 0) return "";
  return `{${
    names.map((n, i) => `${n}="${escapeLabel(values[i] ?? "")}"`).join(",")
  }}`;
}

function formatNumber(n: number): string {
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  if (Number.isNaN(n)) return "NaN";
  return String(n);
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** One metric family. */
interface Family {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  lines(): string[];
}

abstract class Labelled<T> implements Family {
  abstract readonly type: "counter" | "gauge" | "histogram";
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  protected series: Map<string, { values: string[]; data: T }> = new Map();

  constructor(name: string, help: string, labelNames: readonly string[]) {
    if (!NAME.test(name)) throw new TypeError(`bad metric name "${name}"`);
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
  }

  protected slot(labels: Labels | undefined, init: () => T): T {
    const values = this.labelNames.map((n) => labels?.[n] ?? "");
    const key = values.join("\u0000");
    let s = this.series.get(key);
    if (!s) {
      s = { values, data: init() };
      this.series.set(key, s);
    }
    return s.data;
  }

  /** Drops every series (for gauges recomputed at each scrape). */
  reset(): void {
    this.series.clear();
  }

  abstract lines(): string[];
}

/** A monotonically increasing count. */
export class Counter extends Labelled<{ v: number }> {
  readonly type: "counter" = "counter";
  /** Adds `by` (default 1). */
  inc(labels?: Labels, by = 1): void {
    this.slot(labels, () => ({ v: 0 })).v += by;
  }
  /** @inheritdoc */
  lines(): string[] {
    return [...this.series.values()].map((s) =>
      `${this.name}${labelText(this.labelNames, s.values)} ${
        formatNumber(s.data.v)
      }`
    );
  }
}

/** A value that goes up and down. */
export class Gauge extends Labelled<{ v: number }> {
  readonly type: "gauge" = "gauge";
  /** Sets the value. */
  set(labels: Labels | undefined, v: number): void {
    this.slot(labels, () => ({ v: 0 })).v = v;
  }
  /** @inheritdoc */
  lines(): string[] {
    return [...this.series.values()].map((s) =>
      `${this.name}${labelText(this.labelNames, s.values)} ${
        formatNumber(s.data.v)
      }`
    );
  }
}

/** Observations in cumulative buckets, with their sum and count. */
export class Histogram
  extends Labelled<{ counts: number[]; sum: number; n: number }> {
  readonly type: "histogram" = "histogram";
  readonly buckets: readonly number[];
  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    buckets: readonly number[],
  ) {
    super(name, help, labelNames);
    this.buckets = [...buckets].sort((a, b) => a - b);
  }
  /** Records one observation. */
  observe(labels: Labels | undefined, v: number): void {
    const d = this.slot(labels, () => ({
      counts: this.buckets.map(() => 0),
      sum: 0,
      n: 0,
    }));
    for (let i = 0; i < this.buckets.length; i++) {
      if (v <= this.buckets[i]) d.counts[i]++;
    }
    d.sum += v;
    d.n++;
  }
  /** @inheritdoc */
  lines(): string[] {
    const out: string[] = [];
    for (const s of this.series.values()) {
      const names = [...this.labelNames, "le"];
      this.buckets.forEach((b, i) =>
        out.push(
          `${this.name}_bucket${
            labelText(names, [...s.values, formatNumber(b)])
          } ${s.data.counts[i]}`,
        )
      );
      out.push(
        `${this.name}_bucket${
          labelText(names, [...s.values, "+Inf"])
        } ${s.data.n}`,
      );
      const l = labelText(this.labelNames, s.values);
      out.push(`${this.name}_sum${l} ${formatNumber(s.data.sum)}`);
      out.push(`${this.name}_count${l} ${s.data.n}`);
    }
    return out;
  }
}

/** Latency buckets in seconds, from 0.5 ms to 10 s. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
];

/** A set of metric families, written in registration order. */
export class Registry {
  #families: Family[] = [];

  #add<F extends Family>(f: F): F {
    if (this.#families.some((x) => x.name === f.name)) {
      throw new TypeError(`metric ${f.name} registered twice`);
    }
    this.#families.push(f);
    return f;
  }

  /** Registers a counter. */
  counter(name: string, help: string, labels: readonly string[] = []): Counter {
    return this.#add(new Counter(name, help, labels));
  }

  /** Registers a gauge. */
  gauge(name: string, help: string, labels: readonly string[] = []): Gauge {
    return this.#add(new Gauge(name, help, labels));
  }

  /** Registers a histogram. */
  histogram(
    name: string,
    help: string,
    labels: readonly string[] = [],
    buckets: readonly number[] = LATENCY_BUCKETS,
  ): Histogram {
    return this.#add(new Histogram(name, help, labels, buckets));
  }

  /** The exposition text. */
  text(): string {
    const out: string[] = [];
    for (const f of this.#families) {
      out.push(`# HELP ${f.name} ${f.help.replaceAll("\n", " ")}`);
      out.push(`# TYPE ${f.name} ${f.type}`);
      out.push(...f.lines());
    }
    return out.join("\n") + "\n";
  }
}
