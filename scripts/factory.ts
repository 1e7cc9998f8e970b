/**
 * The pilot factory process: `splitpilot factory` starts it with the
 * table's factory permissions (src/launch/factory_process.ts).
 *
 * @module
 */
import { factoryMain } from "../src/factory/main.ts";

if (import.meta.main) {
  Deno.exit(await factoryMain(Deno.args));
}
