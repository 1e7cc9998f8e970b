import { assertEquals, assertStringIncludes } from "@std/assert";
import { main } from "./site_cmd.ts";

function io() {
  const lines: string[] = [];
  return {
    lines,
    io: {
      out: (l: string) => lines.push(l),
      err: (l: string) => lines.push(l),
    },
  };
}

Deno.test("site: bad usage exits 2 with one line naming the problem", async () => {
  for (
    const [args, msg] of [
      [[], "missing subcommand"],
      [["frobnicate"], 'unknown subcommand "frobnicate"'],
      [["script", "--state", "/x"], "--broker is required"],
      [
        ["script", "--state", "/x", "--broker", "nope"],
        "--broker nope: expected HOST:PORT",
      ],
      [
        ["script", "--state", "/x", "--broker", "h:1", "--cores", "0"],
        "--cores 0: expected an integer >= 1",
      ],
      [
        [
          "script",
          "--state",
          "/x",
          "--broker",
          "h:1",
          "--cores",
          "1",
          "--ttl",
          "soon",
        ],
        'invalid duration "soon"',
      ],
    ] as [string[], string][]
  ) {
    const c = io();
    assertEquals(await main(args, c.io), 2, args.join(" "));
    assertStringIncludes(c.lines[0], msg);
  }
});

Deno.test("site publish: a missing build says how to make one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const c = io();
    assertEquals(
      await main(["publish", "--state", `${dir}/s`, "--dist", dir], c.io),
      1,
    );
    assertStringIncludes(c.lines[0], "deno task build --broker");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
