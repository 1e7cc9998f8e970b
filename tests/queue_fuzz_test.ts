/**
 * Fuzzing the submit endpoint over real mutual-TLS HTTPS: random, mutated
 * and hostile JDLs and bodies (bounded by count and time, seeded by
 * `QUEUE_FUZZ_SEED`). The broker never answers 5xx or hangs; a JDL the
 * parser accepts gets 201, one it rejects gets 400 with the parser's own
 * `line L, column C: …` message.
 */
import { assert, assertEquals, fail } from "@std/assert";
import type { BrokerError } from "../src/client/broker_client.ts";
import { applyArguments, JdlError, parseJdl } from "../src/jdl/mod.ts";
import { Random } from "./_random.ts";
import { startGrid } from "./_grid.ts";

const MAX_REQUESTS = 600;
const BUDGET_MS = 15_000;
const REQUEST_TIMEOUT_MS = 10_000;
const MAX_JDL_BYTES = 16 * 1024;

const SEEDS = [
  `Executable = "/bin/sh";
Arguments = "-c 'echo hi' x";
InputFile = {"LF:/jdoe/in/a.txt", "LF:/jdoe/in/b.txt"};
OutputFile = {"out.root@disk=2", "log.txt"};
OutputArchive = {"logs.zip:std*,*.log@disk=1"};
TTL = "2h"; MemorySize = "4GB"; WorkDirectorySize = 5000; CPUCores = 2;
Packages = {"VO_ALICE@AliPhysics::vAN-20240101-1"}; Priority = 3;
MaxWaitingTime = 600; ValidationCommand = "/bin/true"; Container = "el9";
JDLVariables = {"Run"}; Run = 12345;
Requirements = other.TTL > 7200 && member(other.Packages, "VO_ALICE@ROOT::v6")
  && (other.CE == "ALICE::CERN::Pilot" || other.Site == "GSI")
  && regexp("^ALICE::", other.CE) && !isUndefined(other.Memory);`,
  'executable = "/bin/true"; // comment\n/* block */ ttl = 60;',
  'Executable = "/bin/true"; Requirements = other.Site != "X" || Flag; Flag = true;',
];

const PIECES = [
  ..."{}()=;,.!<>+-*/&|\"'\\#@:xX019 \n\t",
  "other.",
  "&&",
  "||",
  "==",
  "member(",
  "regexp(",
  "isUndefined(",
  "Executable = ",
  "Requirements = ",
  "TTL = ",
  "CPUCores = ",
  "MemorySize = ",
  "MaxWaitingTime = ",
  '"LF:/a"',
  "1e308",
  "-1",
  "9".repeat(40),
  "\u00e9",
  "\ud800",
  "\u{1F600}",
  "\0",
  "\ufeff",
];

function mutate(rng: Random, text: string): string {
  let s = text;
  for (let e = 1 + rng.int(5); e > 0; e--) {
    const i = rng.int(s.length + 1);
    const j = Math.min(s.length, i + rng.int(20));
    switch (rng.int(5)) {
      case 0:
        s = s.slice(0, i) + s.slice(j);
        break;
      case 1:
        s = s.slice(0, i) + rng.pick(PIECES) + s.slice(i);
        break;
      case 2:
        s = s.slice(0, i) + s.slice(i, j).repeat(1 + rng.int(4)) + s.slice(j);
        break;
      case 3:
        s = s.slice(0, i);
        break;
      default:
        s = s.slice(0, i) + String.fromCharCode(rng.int(0x10000)) +
          s.slice(i + 1);
    }
  }
  return s;
}

function soup(rng: Random): string {
  let s = rng.next() < 0.5 ? 'Executable = "/x";' : "";
  for (let n = rng.int(80); n > 0; n--) s += rng.pick(PIECES);
  return s;
}

/** A request body: text (to compare with the parser) or raw bytes. */
function body(rng: Random): { text?: string; bytes?: Uint8Array } {
  switch (rng.int(8)) {
    case 0:
      return { text: rng.pick(SEEDS) };
    case 1:
    case 2:
    case 3:
      return { text: mutate(rng, rng.pick(SEEDS)) };
    case 4:
      return { text: soup(rng) };
    case 5: {
      const bytes = new Uint8Array(rng.int(400));
      for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(256);
      return { bytes };
    }
    case 6:
      // Deep nesting and long lines.
      return {
        text: rng.next() < 0.5
          ? `Executable = "/x"; Requirements = ${"(".repeat(3000)}true${
            ")".repeat(3000)
          };`
          : `Executable = "/x"; Arguments = "${"a".repeat(rng.int(20000))}";`,
      };
    default:
      return { text: "" };
  }
}

Deno.test("fuzz: the submit endpoint answers 201 or 4xx, never 5xx or a hang", async () => {
  const seed = Number(Deno.env.get("QUEUE_FUZZ_SEED") ?? 20240605);
  const rng = new Random(seed);
  const internal: unknown[] = [];
  const grid = await startGrid({
    sweepIntervalSeconds: 0,
    maxJdlBytes: MAX_JDL_BYTES,
    onError: (e) => internal.push(e),
  });
  const counts: Record<number, number> = {};
  try {
    const start = Date.now();
    let n = 0;
    for (; n < MAX_REQUESTS && Date.now() - start < BUDGET_MS; n++) {
      const b = body(rng);
      const payload = b.bytes ?? new TextEncoder().encode(b.text!);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const hang = new Promise<"hang">((r) =>
        timer = setTimeout(() => r("hang"), REQUEST_TIMEOUT_MS)
      );
      const res = await Promise.race([
        grid.user.request("POST", "/api/v1/jobs", {
          body: payload as Uint8Array<ArrayBuffer>,
          retry: false,
        }).catch((e: BrokerError) => e),
        hang,
      ]);
      clearTimeout(timer);
      if (res === "hang") {
        fail(`no answer in ${REQUEST_TIMEOUT_MS} ms (request ${n})`);
      }
      const status = res.status;
      const answer: { error?: string; jobId?: string } = res instanceof Response
        ? await res.json()
        : { error: res.message };
      counts[status] = (counts[status] ?? 0) + 1;
      const what = `seed ${seed}, request ${n}: ${
        JSON.stringify((b.text ?? "<bytes>").slice(0, 200))
      }`;
      assert(
        status === 201 || (status >= 400 && status < 500),
        `${status} for ${what}`,
      );
      if (b.text === undefined) continue;
      if (payload.byteLength > MAX_JDL_BYTES) {
        assertEquals(status, 413, what);
        continue;
      }
      let expected: string | undefined;
      try {
        // What the broker sees: lone surrogates became U+FFFD on the wire.
        // As the broker reads it: arguments filled (none), JAliEn leniency.
        parseJdl(applyArguments(new TextDecoder().decode(payload), []), {
          strict: false,
        });
      } catch (e) {
        if (!(e instanceof JdlError)) fail(`parser threw ${e} for ${what}`);
        expected = e.message;
      }
      if (expected === undefined) {
        // Checks after parsing (executable lookup, Split) may still refuse,
        // with a position.
        if (status === 400) {
          assert(/^line \d+, column \d+: expected /.test(answer.error!), what);
          continue;
        }
        assertEquals(status, 201, what);
        assert(/^\d+$/.test(answer.jobId ?? ""), what);
      } else {
        assertEquals([status, answer.error], [400, expected], what);
      }
    }
    console.log(`${n} requests, answers by status: ${JSON.stringify(counts)}`);
    assertEquals(internal, [], "no unexpected errors in the broker");
    assert(n >= 100, `only ${n} requests in the budget`);
    assert(
      (counts[201] ?? 0) > 10 && (counts[400] ?? 0) > 10,
      JSON.stringify(counts),
    );
    // The broker still works after all that.
    const id = await grid.submit('Executable = "/bin/true";');
    assert(/^\d+$/.test(id));
  } finally {
    await grid.close();
  }
});
