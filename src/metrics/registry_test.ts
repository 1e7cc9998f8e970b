import { assertEquals, assertThrows } from "@std/assert";
import { Registry } from "./registry.ts";

Deno.test("metrics registry: counters, gauges and histograms in the text format", () => {
  const r = new Registry();
  const c = r.counter("x_total", "Things.", ["kind"]);
  const g = r.gauge("y", "Level.");
  const h = r.histogram("z_seconds", "Time.", ["op"], [0.1, 1]);
  c.inc({ kind: 'a"b\\c\nd' });
  c.inc({ kind: "plain" }, 2);
  g.set(undefined, 7);
  h.observe({ op: "get" }, 0.05);
  h.observe({ op: "get" }, 0.5);
  h.observe({ op: "get" }, 5);
  assertEquals(r.text().split("\n"), [
    "# HELP x_total Things.",
    "# TYPE x_total counter",
    'x_total{kind="a\\"b\\\\c\\nd"} 1',
    'x_total{kind="plain"} 2',
    "# HELP y Level.",
    "# TYPE y gauge",
    "y 7",
    "# HELP z_seconds Time.",
    "# TYPE z_seconds histogram",
    'z_seconds_bucket{op="get",le="0.1"} 1',
    'z_seconds_bucket{op="get",le="1"} 2',
    'z_seconds_bucket{op="get",le="+Inf"} 3',
    'z_seconds_sum{op="get"} 5.55',
    'z_seconds_count{op="get"} 3',
    "",
  ]);
  g.reset();
  assertEquals(r.text().includes("y 7"), false);
  assertThrows(() => r.counter("x_total", "again"), TypeError, "twice");
  assertThrows(() => r.gauge("bad name", "x"), TypeError, "bad metric name");
});
