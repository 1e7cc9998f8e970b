import { assert, assertEquals } from "@std/assert";
import { formatTable } from "./format_table.ts";
import { benchTokens, parseOpensslSpeed } from "./tokens.ts";

Deno.test("parseOpensslSpeed: reads sign/s and verify/s of OpenSSL 3 output", () => {
  const text = [
    "                              sign    verify    sign/s verify/s",
    " 256 bits ecdsa (nistp256)   0.0000s   0.0001s  55871.7  17478.0",
  ].join("\n");
  assertEquals(parseOpensslSpeed(text), { sign: 55871.7, verify: 17478 });
  assertEquals(parseOpensslSpeed("speed: Use -help for summary."), undefined);
});

Deno.test("benchTokens: issue and verify rates beside openssl, with ratios", async () => {
  const rows = await benchTokens({ seconds: 0.1 });
  const find = (prefix: string) => {
    const r = rows.find((x) => x.measure.startsWith(prefix));
    assert(r, `no row "${prefix}…" in\n${formatTable(rows)}`);
    return r;
  };
  for (
    const prefix of [
      "issue: fresh P-256 key + signed cert, 1 in flight",
      "issue: fresh P-256 key + signed cert, 8 in flight",
      "verify cold (no cache), 1 in flight",
      "verify cold (no cache), 8 in flight",
      "verify cached",
    ]
  ) {
    const r = find(prefix);
    assert(r.ours > 0, `${r.measure}: ${r.ours}`);
    assertEquals(r.unit, "ops/s");
    assert(r.goal !== undefined && r.met !== undefined, r.measure);
    // openssl is installed wherever the suite runs (and in CI).
    assert(r.baseline !== undefined && r.baseline > 0, r.measure);
    // `ours` and `baseline` are rounded, the ratio is not.
    assert(
      Math.abs(r.ratio! - r.ours / r.baseline) <=
        0.001 * r.ratio! + 1 / r.baseline,
      `${r.measure}: ratio ${r.ratio} vs ${r.ours}/${r.baseline}`,
    );
  }
  const issueBase = find("issue: fresh").baseline!;
  const verifyBase = find("verify cold").baseline!;
  // ECDSA P-256 signs faster than it verifies, in openssl as anywhere.
  assert(issueBase > verifyBase, `sign ${issueBase} vs verify ${verifyBase}`);
  const table = formatTable(rows);
  assertEquals(table.split("\n").length, rows.length + 2);
});
