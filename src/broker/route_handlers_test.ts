/**
 * The route table and the handlers' table agree, at run time and at type
 * level: a missing or extra handler, or a handler reading a path
 * parameter its route lacks, does not compile (the `@ts-expect-error`
 * lines fail the type check if it ever does).
 */
import { assertEquals } from "@std/assert";
import type { JobRecord } from "./store.ts";
import type { RouteCall, RouteHandlers } from "./route_call.ts";
import { ROUTE_HANDLERS } from "./route_handlers.ts";
import { AUTHZ_TABLE, ROUTES } from "./routes.ts";

Deno.test("routes: one handler per route, none without a route", () => {
  assertEquals(
    Object.keys(ROUTE_HANDLERS).sort(),
    Object.keys(ROUTES).sort(),
  );
  assertEquals(AUTHZ_TABLE.map((r) => r.name), Object.keys(ROUTES));
});

Deno.test("routes: the handlers' table is checked by the compiler", () => {
  const { health: _health, ...withoutHealth } = ROUTE_HANDLERS;
  // @ts-expect-error a table missing the `health` handler is no RouteHandlers
  const missing: RouteHandlers = withoutHealth;
  const extra: RouteHandlers = {
    ...ROUTE_HANDLERS,
    // @ts-expect-error a handler for a route that does not exist
    nonsense: ROUTE_HANDLERS.health,
  };
  // `:id` routes get their job, `*` routes their LFN, others neither.
  const job: (c: RouteCall<"kill">) => JobRecord = (c) => c.job;
  const lfn: (c: RouteCall<"file_get">) => string = (c) => c.lfn;
  // @ts-expect-error `submit` has no `:id`, so no job
  const none = (c: RouteCall<"submit">) => c.job;
  // @ts-expect-error `list` has no `*`, so no LFN
  const noLfn = (c: RouteCall<"list">) => c.lfn;
  assertEquals(
    [missing, extra, job, lfn, none, noLfn].every((x) => x !== undefined),
    true,
  );
});
