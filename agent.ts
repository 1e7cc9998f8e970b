/**
 * JobAgent entry point: started by the site's batch system with a
 * JOB_AGENT token; matches jobs and runs each in a JobWrapper. See
 * `src/agent/`.
 *
 * @module
 */
import { agentMain } from "./src/agent/main.ts";

if (import.meta.main) {
  Deno.exit(await agentMain(Deno.args));
}
