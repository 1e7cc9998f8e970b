/**
 * `@std/*` is imported only through the import-map aliases, so pointing
 * them at `jsr:` (README, "Using jsr:@std instead of the local stand-ins")
 * swaps every use at once. A relative import of `src/std/*.ts` would
 * silently keep the stand-in.
 */
import { assertEquals } from "@std/assert";

const ROOT = new URL("../", import.meta.url).pathname;
const SKIP = new Set(["node_modules", "dist", ".state", ".git"]);

async function* tsFiles(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    if (SKIP.has(e.name)) continue;
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) yield* tsFiles(path);
    else if (/\.(ts|tsx|js|mjs)$/.test(e.name)) yield path;
  }
}

/** Import specifiers that reach a stand-in by path. */
export function relativeStdImports(source: string, path: string): string[] {
  const inStd = /\/src\/std\/[^/]+$/.test(path);
  const specs = [
    ...source.matchAll(
      /(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)["']([^"']+)["']/g,
    ),
  ].map((m) => m[1]);
  return specs.filter((s) =>
    /(^|\/)std\/(assert|cli|streams)\.ts$/.test(s) ||
    (inStd && /^\.\/(assert|cli|streams)\.ts$/.test(s))
  );
}

Deno.test("std aliases: the scanner catches a relative import", () => {
  // Built from pieces so that this file does not match itself.
  const from = (s: string) => `import { x } ${"from"} "${s}";`;
  assertEquals(
    relativeStdImports(
      `${from("../std/" + "cli.ts")}\n${from("@std/assert")}`,
      "/r/src/cli/x.ts",
    ),
    ["../std/cli.ts"],
  );
  assertEquals(
    relativeStdImports(from("./" + "streams.ts"), "/r/src/std/x_test.ts"),
    ["./streams.ts"],
  );
});

Deno.test("std aliases: no file imports src/std/* by path", async () => {
  const found: string[] = [];
  for (
    const dir of ["src", "scripts", "tests", "bench", "agent.ts", "wrapper.ts"]
  ) {
    const full = `${ROOT}${dir}`;
    let stat;
    try {
      stat = await Deno.stat(full);
    } catch {
      continue;
    }
    const files = stat.isDirectory
      ? await Array.fromAsync(tsFiles(full))
      : [full];
    for (const f of files) {
      for (const s of relativeStdImports(await Deno.readTextFile(f), f)) {
        found.push(`${f.slice(ROOT.length)}: ${s}`);
      }
    }
  }
  assertEquals(
    found,
    [],
    "import these through @std/assert, @std/cli, @std/streams",
  );
});
