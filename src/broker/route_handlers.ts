/**
 * Every route's handler, keyed by route name. The table's type is a
 * mapped type over the route names of `./routes.ts`: a route without a
 * handler here, or a handler for no route, is a type error, and each
 * handler sees the path parameters its route has ({@link RouteCall}).
 *
 * @module
 */
import { readJson } from "./body_fields.ts";
import { json } from "./errors.ts";
import type { RouteHandlers } from "./route_call.ts";
import { heartbeat, logAppend, match, status } from "./routes_agent.ts";
import {
  artefact,
  fileDelete,
  fileGet,
  fileList,
  filePut,
} from "./routes_files.ts";
import {
  kill,
  list,
  logRead,
  resubmit,
  show,
  submit,
  trace,
  why,
} from "./routes_jobs.ts";

export type { RouteCall, RouteHandler, RouteHandlers } from "./route_call.ts";

/** The handlers. */
export const ROUTE_HANDLERS: RouteHandlers = {
  health: (_ctx, { who }) =>
    Promise.resolve(json({ ok: true, role: who.role, subject: who.subject })),
  submit,
  list,
  job: show,
  trace,
  why,
  kill,
  resubmit,
  match,
  status,
  heartbeat,
  file_list: fileList,
  file_get: fileGet,
  file_put: filePut,
  file_delete: fileDelete,
  artefact,
  log_append: logAppend,
  log: logRead,
  metrics: (ctx) =>
    ctx.metrics.text(ctx.store, ctx.sites.registry).then((text) =>
      new Response(text, {
        headers: { "content-type": "text/plain; version=0.0.4" },
      })
    ),
  sites: (ctx) => ctx.sites.sites(),
  factory_demand: (ctx, { req, who }) =>
    readJson(req).then((b) => ctx.sites.demand(who.subject, b)),
  factory_pilot: (ctx, { req, who }) =>
    readJson(req).then((b) => ctx.sites.pilot(who.subject, b)),
  factory_report: (ctx, { req, who }) =>
    readJson(req).then((b) => ctx.sites.report(who.subject, b)),
};
