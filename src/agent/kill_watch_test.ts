import { assertEquals } from "@std/assert";
import type { BrokerClient } from "../client/broker_client.ts";
import { brokerKillMessage, watchForKill } from "./kill_watch.ts";
import { eventually } from "../../tests/_eventually.ts";

Deno.test("watchForKill calls back once when the job shows KILLED", async () => {
  let state = "RUNNING";
  let gets = 0;
  const broker = {
    json: () => {
      gets++;
      return Promise.resolve({
        state,
        killReason: 30,
        message: "killed by user jdoe (kill reason 30)",
      });
    },
  } as unknown as BrokerClient;
  const kills: [number, string][] = [];
  const stop = watchForKill({
    broker,
    jobId: "1",
    intervalMs: 5,
    onKill: (r, m) => kills.push([r, m]),
  });
  await new Promise((r) => setTimeout(r, 30));
  assertEquals(kills, []);
  state = "KILLED";
  await eventually("the kill callback", () => kills.length > 0);
  stop();
  assertEquals(kills, [[30, "killed by user jdoe (kill reason 30)"]]);
  const after = gets;
  await new Promise((r) => setTimeout(r, 30));
  assertEquals(gets, after, "no checks after the kill");
});

Deno.test("brokerKillMessage states the reason once", () => {
  assertEquals(
    brokerKillMessage("killed by user jdoe (kill reason 30)"),
    "broker: killed by user jdoe",
  );
});
