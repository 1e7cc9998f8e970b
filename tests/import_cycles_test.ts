/**
 * Layering checks on src/: its folders form a directed acyclic graph of
 * imports (a cycle, like broker → site → build → watchdog → broker once,
 * means a shared word lives in the wrong layer: move it to src/protocol/
 * or to the lower folder), and test-only code stays out of the product.
 */
import { assertEquals } from "@std/assert";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const SRC = fileURLToPath(new URL("../src/", import.meta.url));

/** Every .ts file below `dir`. */
async function* tsFiles(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory) yield* tsFiles(path);
    else if (e.isFile && e.name.endsWith(".ts")) yield path;
  }
}

const SPECIFIER =
  /(?:^|[\s;])(?:import|export)\s[^;]*?\sfrom\s*"([^"]+)"|import\(\s*"([^"]+)"\s*\)|^import\s+"([^"]+)"/gm;

/** The relative specifiers `text` imports or re-exports. */
export function relativeImports(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(SPECIFIER)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (spec.startsWith(".")) out.push(spec);
  }
  return out;
}

/** The top folder of src/ a path is in ("" for files directly in src/). */
function folderOf(path: string): string {
  const rel = relative(SRC, path).split("/");
  return rel.length > 1 ? rel[0] : "";
}

/** Folder → folders it imports from, with one example edge each. */
async function folderGraph(): Promise<Map<string, Map<string, string>>> {
  const graph = new Map<string, Map<string, string>>();
  for await (const file of tsFiles(SRC)) {
    const from = folderOf(file);
    if (from === "") continue; // src/mod.ts re-exports every folder
    // The layering is the product's; a test beside the code may reach
    // across (e.g. a broker test driving the CLI that starts a broker).
    if (file.endsWith("_test.ts")) continue;
    for (const spec of relativeImports(await Deno.readTextFile(file))) {
      const target = resolve(dirname(file), spec);
      if (!target.startsWith(SRC)) continue;
      const to = folderOf(target);
      if (to === from || to === "") continue;
      const edges = graph.get(from) ?? new Map<string, string>();
      if (!edges.has(to)) edges.set(to, `${relative(SRC, file)} → ${spec}`);
      graph.set(from, edges);
    }
  }
  return graph;
}

/** Cycles found by a depth-first search, each as `a → b → … → a`. */
function findCycles(graph: Map<string, Map<string, string>>): string[] {
  const cycles: string[] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node)?.keys() ?? []) {
      if (state.get(next) === "open") {
        const loop = [...stack.slice(stack.indexOf(next)), next];
        const why = loop.slice(0, -1).map((n, i) =>
          graph.get(n)!.get(loop[i + 1])
        );
        cycles.push(`${loop.join(" → ")} (${why.join("; ")})`);
      } else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of [...graph.keys()].sort()) {
    if (!state.has(node)) visit(node);
  }
  return cycles;
}

Deno.test("relativeImports finds static, re-export and dynamic imports", () => {
  const text = [
    'import { a } from "./a.ts";',
    "import {\n  b,\n  type C,\n} from '../x.ts';",
    'import type { D } from "../d/mod.ts";',
    'export * from "./e.ts";',
    'const f = await import("../f/f.ts");',
    'import "./side.ts";',
    'import { g } from "@std/assert";',
  ].join("\n");
  assertEquals(relativeImports(text), [
    "./a.ts",
    "../d/mod.ts",
    "./e.ts",
    "../f/f.ts",
    "./side.ts",
  ]);
});

Deno.test("findCycles reports a loop between folders with its edges", () => {
  const g = new Map([
    ["a", new Map([["b", "a/x.ts → ../b/y.ts"]])],
    ["b", new Map([["c", "b/y.ts → ../c/z.ts"]])],
    ["c", new Map([["a", "c/z.ts → ../a/x.ts"]])],
  ]);
  assertEquals(findCycles(g).length, 1);
  g.get("c")!.delete("a");
  assertEquals(findCycles(g), []);
});

Deno.test("no import cycle between the folders of src/", async () => {
  const graph = await folderGraph();
  assertEquals(graph.size > 5, true, "the walk found src/'s folders");
  assertEquals(findCycles(graph), []);
});

Deno.test("test-only code stays out of src/'s product files", async () => {
  const faults: string[] = [];
  for await (const file of tsFiles(SRC)) {
    const rel = relative(SRC, file);
    const isTest = rel.endsWith("_test.ts") || rel.endsWith("/_testing.ts");
    const text = await Deno.readTextFile(file);
    for (const spec of relativeImports(text)) {
      const target = resolve(dirname(file), spec);
      // A folder's `_testing.ts` is for that folder's tests only.
      if (target.endsWith("/_testing.ts")) {
        if (!isTest || dirname(target) !== dirname(file)) {
          faults.push(`${rel} imports ${spec}`);
        }
      } else if (!target.startsWith(SRC) && !isTest) {
        faults.push(`${rel} imports ${spec} from outside src/`);
      }
    }
    // The cross-checking X.509 library is for tests beside the code; a
    // helper module that needs it lives in tests/.
    if (!rel.endsWith("_test.ts") && /from "(?:npm:)?@peculiar\//.test(text)) {
      faults.push(`${rel} imports @peculiar (a test-only library)`);
    }
    // Test helpers in src/ have one name, so the rule above can see them.
    const base = rel.slice(rel.lastIndexOf("/") + 1);
    if (
      /^_.*test/.test(base) && base !== "_testing.ts" && !isTest
    ) {
      faults.push(`${rel}: a test helper in src/ must be named _testing.ts`);
    }
  }
  assertEquals(faults, []);
});
