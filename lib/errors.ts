import { randomUUID } from "node:crypto";
import { ZodError } from "zod";
import { logger } from "./log";

// One error type, one JSON shape (AGENTS.md#errors), and one HTTP status per code: a client that
// reads the code knows the status and the other way round, and a code is never answered with two.
// `lib/errors.test.ts` checks that every code thrown in the tree is here.
export const STATUS_OF_CODE = {
  bad_request: 400,
  validation_failed: 400, // a zod error: `fields` says which
  unauthorized: 401, // no credential, or one we do not accept: send one
  reauth_required: 401, // the panel runs the SSO handshake again, then retries
  session_revoked: 401, // GHL no longer gives the panel user this location
  // The location uninstalled the app, or never installed it. 403, not 404: the caller (a session,
  // a key, a job) named a location that exists, and what it lacks is permission, which
  // reinstalling gives back; 404 is kept for an id this tenant does not have (AGENTS.md#tenancy),
  // where the cure is a different id. The panel and its tests have always had 403; the GHL token
  // store's 404 is what changed.
  not_installed: 403,
  forbidden: 403,
  admin_required: 403,
  no_access: 403, // GHL no longer lets this user open this location
  not_found: 404,
  conflict: 409,
  needs_reinstall: 409, // GHL refuses our tokens (invalid_grant): only a reinstall helps
  link_expired: 410, // a signed media link past its expiry
  payload_too_large: 413,
  unsupported_media_type: 415,
  unprocessable: 422, // well-formed but cannot be done (no phone, no text, a media URL we may not fetch)
  rate_limited: 429, // Retry-After says when
  internal: 500, // carries only a request id; the details are in the log
  ghl_refused: 502, // GHL answered 4xx (not 429) to a call we made
  ghl_unavailable: 502, // GHL answered 5xx
  unavailable: 503, // a dependency of ours is not answering now: retry
  roles_unavailable: 503, // GHL could not confirm a role; admin actions fail closed
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof STATUS_OF_CODE;

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "AppError";
    this.status = STATUS_OF_CODE[code];
  }
}

export const badRequest = (m: string, details?: unknown) => new AppError("bad_request", m, details);
export const unauthorized = (m = "authentication required") => new AppError("unauthorized", m);
export const forbidden = (m = "not allowed for this location") => new AppError("forbidden", m);
export const notFound = (m = "not found") => new AppError("not_found", m);
export const conflict = (m: string) => new AppError("conflict", m);

export type ErrorBody = {
  error: { code: string; message: string; requestId?: string; fields?: Record<string, string[]> };
};

/** Maps anything thrown to a status and the one JSON shape; unknown errors hide their internals. */
export function toErrorResponse(err: unknown, requestId: string = randomUUID()): { status: number; body: ErrorBody } {
  if (err instanceof AppError) {
    const body: ErrorBody = { error: { code: err.code, message: err.message } };
    if (err.details && typeof err.details === "object") Object.assign(body.error, err.details);
    return { status: err.status, body };
  }
  if (err instanceof ZodError) {
    const fields: Record<string, string[]> = {};
    for (const i of err.issues) (fields[i.path.join(".") || "(body)"] ??= []).push(i.message);
    return {
      status: STATUS_OF_CODE.validation_failed,
      body: { error: { code: "validation_failed", message: "the request is not valid", fields } },
    };
  }
  if (isPostgresDataException(err)) {
    // Postgres refused a value it cannot store or compare (a NUL character, a date out of its
    // range): that value came from the request, so it is bad input, never a 500
    logger().warn({ requestId, sqlstate: postgresCode(err) }, "value refused by Postgres");
    return {
      status: STATUS_OF_CODE.bad_request,
      body: {
        error: {
          code: "bad_request",
          message: "the request contains a value that cannot be stored (e.g. a NUL character or an out-of-range date)",
        },
      },
    };
  }
  logger().error({ err, requestId }, "unhandled error");
  return {
    status: STATUS_OF_CODE.internal,
    body: { error: { code: "internal", message: "something went wrong on our side", requestId } },
  };
}

// Prisma with the pg driver adapter reports Postgres errors under meta.driverAdapterError.cause;
// SQLSTATE class 22 is "data exception" (22021 NUL byte, 22P05 \u0000 in jsonb, 22008/22009 dates).
function postgresCode(err: unknown): string | undefined {
  const cause = (err as { meta?: { driverAdapterError?: { cause?: { kind?: string; code?: unknown } } } })?.meta
    ?.driverAdapterError?.cause;
  return cause?.kind === "postgres" && typeof cause.code === "string" ? cause.code : undefined;
}

export function isPostgresDataException(err: unknown): boolean {
  return postgresCode(err)?.startsWith("22") ?? false;
}
