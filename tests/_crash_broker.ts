/**
 * Test-only broker that SIGKILLs itself right after the first `submit` or
 * `match` (argv[2]) has committed and before its answer is sent: the
 * window in which a client cannot tell a committed request from a lost
 * one. Usage: `deno run -A tests/_crash_broker.ts STATE PORT submit|match`.
 *
 * @module
 */
import { startBroker } from "../src/broker/broker.ts";

const [stateDir, port, op] = Deno.args;
const broker = await startBroker({
  stateDir,
  port: Number(port),
  sweepIntervalSeconds: 0,
  afterCommit: (done) => {
    if (done === op) Deno.kill(Deno.pid, "SIGKILL");
  },
});
console.log(`broker listening on ${broker.url}`);
