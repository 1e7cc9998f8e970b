import { assertEquals, assertGreater } from "@std/assert";
import { describeMachine, formatMachine, parseCpuinfo } from "./machine.ts";

Deno.test("parseCpuinfo: model and processor count", () => {
  const info = [
    "processor\t: 0",
    "model name\t: Intel(R) Xeon(R) Processor",
    "",
    "processor\t: 1",
    "model name\t: Intel(R) Xeon(R) Processor",
  ].join("\n");
  assertEquals(parseCpuinfo(info), {
    cpu: "Intel(R) Xeon(R) Processor",
    cores: 2,
  });
  assertEquals(parseCpuinfo(""), { cpu: "unknown", cores: 0 });
});

Deno.test("describeMachine reads this machine", async () => {
  const m = await describeMachine();
  assertGreater(m.cores, 0);
  assertEquals(m.deno, Deno.version.deno);
  assertEquals(formatMachine(m).startsWith(`${m.cores} × `), true);
});
