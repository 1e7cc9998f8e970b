/**
 * JobWrapper entry point: runs one job with the job token it receives on
 * stdin, inside the container the agent put it in. See `src/wrapper/`.
 *
 * Usage: `deno run <wrapper permissions> wrapper.ts --workdir DIR`
 *
 * @module
 */
import { wrapperMain } from "./src/wrapper/main.ts";

if (import.meta.main) {
  Deno.exit(await wrapperMain(Deno.args));
}
