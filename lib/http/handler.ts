import { AppError, toErrorResponse } from "../errors";
import { childLogger } from "../log";
import { isJson } from "./csrf";
import { requestIdFrom } from "./request-id";

// Every route handler runs inside this: a request id, one error shape, no internals on 500.
export type RouteContext<P = Record<string, string>> = { params: Promise<P> };

export function handle<P = Record<string, string>>(
  fn: (req: Request, ctx: RouteContext<P> & { requestId: string }) => Promise<Response>,
) {
  return async (req: Request, ctx: RouteContext<P>): Promise<Response> => {
    const requestId = requestIdFrom(req.headers);
    try {
      const res = await fn(req, { ...ctx, requestId });
      res.headers.set("x-request-id", requestId);
      return res;
    } catch (err) {
      const { status, body } = toErrorResponse(err, requestId);
      if (status >= 500) childLogger({ requestId, path: new URL(req.url).pathname }).error({ err }, "request failed");
      return Response.json(body, { status, headers: { "x-request-id": requestId } });
    }
  };
}

/**
 * Parses a JSON body; malformed JSON is a 400, never a 500. A body sent as anything but
 * `application/json` is a 415: a `text/plain` or form POST is what a cross-site page can send
 * without a CORS preflight (lib/http/csrf.ts), so it is never read as JSON.
 */
export async function jsonBody(req: Request): Promise<unknown> {
  const text = await req.text();
  if (!text) return {};
  if (!isJson(req.headers.get("content-type")))
    throw new AppError("unsupported_media_type", "send the body as JSON with content-type: application/json");
  try {
    return JSON.parse(text);
  } catch {
    const { badRequest } = await import("../errors");
    throw badRequest("the body is not valid JSON");
  }
}
