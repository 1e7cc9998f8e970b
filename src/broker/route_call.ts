/**
 * What a route handler gets: the request, the caller, and the object its
 * path names, typed per route from its path pattern: a `:id` route's
 * handler gets the job, a `*` route's the LFN, so no handler reads a
 * parameter its route does not have.
 *
 * @module
 */
import type { TokenIdentity } from "../token/mod.ts";
import type { BrokerContext } from "./broker_context.ts";
import type { RouteName, ROUTES } from "./routes.ts";
import type { JobRecord } from "./store.ts";

/** What every handler gets. */
export interface BaseCall {
  /** The request. */
  req: Request;
  /** Its parsed URL. */
  url: URL;
  /** The authenticated caller. */
  who: TokenIdentity;
  /** For a JOB token: its job (alive, checked at authentication). */
  tokenJob?: JobRecord;
}

/** The path parameters a path pattern has. */
export type PathParams<P extends string> = P extends `${string}:id${string}` ? {
    /** The job `:id` names (already checked against the rule). */ job:
      JobRecord;
  }
  : P extends `${string}/*` ? { /** The decoded, validated LFN. */ lfn: string }
  : unknown;

/** The call of route `K`. */
export type RouteCall<K extends RouteName> =
  & BaseCall
  & PathParams<(typeof ROUTES)[K]["path"]>;

/** The handler of route `K`. */
export type RouteHandler<K extends RouteName> = (
  ctx: BrokerContext,
  call: RouteCall<K>,
) => Promise<Response>;

/** One handler for every route, and no handler without a route. */
export type RouteHandlers = { readonly [K in RouteName]: RouteHandler<K> };
