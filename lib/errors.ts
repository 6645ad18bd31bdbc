import { randomUUID } from "node:crypto";
import { ZodError } from "zod";
import { logger } from "./log";

// One error type, one JSON shape (AGENTS.md#errors).
export type ErrorCode =
  | "reauth_required" | "session_revoked" | "admin_required" | "no_access" | "roles_unavailable" // panel sessions, roles (SECURITY.md)
  | "bad_request" | "validation_failed" | "unauthorized" | "forbidden" | "not_found" | "conflict"
  | "unprocessable" | "unsupported_media_type" | "rate_limited" | "not_installed" | "needs_reinstall" | "unavailable" | "internal";

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly status: number,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = "AppError";
  }
}

export const badRequest = (m: string, details?: unknown) => new AppError("bad_request", m, 400, details);
export const unauthorized = (m = "authentication required") => new AppError("unauthorized", m, 401);
export const forbidden = (m = "not allowed for this location") => new AppError("forbidden", m, 403);
export const notFound = (m = "not found") => new AppError("not_found", m, 404);
export const conflict = (m: string) => new AppError("conflict", m, 409);

export type ErrorBody = { error: { code: string; message: string; requestId?: string; fields?: Record<string, string[]> } };

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
    return { status: 400, body: { error: { code: "validation_failed", message: "the request is not valid", fields } } };
  }
  if (isPostgresDataException(err)) {
    // Postgres refused a value it cannot store or compare (a NUL character, a date out of its
    // range): that value came from the request, so it is bad input, never a 500
    logger().warn({ requestId, sqlstate: postgresCode(err) }, "value refused by Postgres");
    return { status: 400, body: { error: { code: "bad_request", message: "the request contains a value that cannot be stored (e.g. a NUL character or an out-of-range date)" } } };
  }
  logger().error({ err, requestId }, "unhandled error");
  return { status: 500, body: { error: { code: "internal", message: "something went wrong on our side", requestId } } };
}

// Prisma with the pg driver adapter reports Postgres errors under meta.driverAdapterError.cause;
// SQLSTATE class 22 is "data exception" (22021 NUL byte, 22P05 \u0000 in jsonb, 22008/22009 dates).
function postgresCode(err: unknown): string | undefined {
  const cause = (err as { meta?: { driverAdapterError?: { cause?: { kind?: string; code?: unknown } } } })?.meta?.driverAdapterError?.cause;
  return cause?.kind === "postgres" && typeof cause.code === "string" ? cause.code : undefined;
}

export function isPostgresDataException(err: unknown): boolean {
  return postgresCode(err)?.startsWith("22") ?? false;
}
