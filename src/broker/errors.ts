/**
 * Typed broker errors and their one conversion to HTTP responses.
 *
 * @module
 */

/** An error that becomes an HTTP response `{error, reason}`. */
export class HttpError extends Error {
  /** HTTP status code. */
  readonly status: number;
  /** Short machine-readable reason, e.g. `wrong_role`. */
  readonly reason: string;
  /** Extra body fields (a 409's current view of the job). */
  readonly extra?: Record<string, unknown>;
  /** Creates the error; `message` is the human line. */
  constructor(
    status: number,
    reason: string,
    message: string,
    extra?: Record<string, unknown>,
  ) {
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.reason = reason;
    this.extra = extra;
  }
}

/** 400: the request body or path is not what the endpoint expects. */
export function badRequest(reason: string, message: string): HttpError {
  return new HttpError(400, reason, message);
}

/** 401: no usable certificate. */
export function unauthenticated(reason: string, message: string): HttpError {
  return new HttpError(401, reason, message);
}

/** 403: authenticated, but not allowed. */
export function forbidden(reason: string, message: string): HttpError {
  return new HttpError(403, reason, message);
}

/** 404: no such object. */
export function notFound(message: string): HttpError {
  return new HttpError(404, "not_found", message);
}

/** 409: the object is in a state that does not allow the request. */
export function conflict(
  reason: string,
  message: string,
  extra?: Record<string, unknown>,
): HttpError {
  return new HttpError(409, reason, message, extra);
}

/** A JSON response. */
export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
}

/**
 * The single place where errors turn into responses. Unknown errors are a
 * 500 whose body says nothing internal; the caller logs them.
 */
export function errorResponse(e: unknown): Response {
  if (e instanceof HttpError) {
    return json({ ...e.extra, error: e.message, reason: e.reason }, e.status);
  }
  return json({ error: "internal error", reason: "internal" }, 500);
}
