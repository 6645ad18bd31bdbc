import type { IncomingMessage, ServerResponse } from "node:http";
import { parseBody, readBody, sendJson, type UploadedFile } from "./http-util";
import { mask, traceId as newTraceId } from "./ids";
import type { Operation } from "./openapi-schemas";
import { takeToken } from "./rate-limit";
import type { Sim } from "./sim";
import type { Fault, TokenGrant } from "./state";
import { findAccess } from "./tokens";

export interface ApiCtx {
  sim: Sim;
  req: IncomingMessage;
  url: URL;
  op: Operation;
  pathParams: Record<string, string>;
  query: Record<string, string>;
  body: any;
  files: UploadedFile[];
  grant?: TokenGrant;
  traceId: string;
  locationId?: string; // the location the call is about, for /__sandbox/calls filters
  dropped?: string; // why GHL acknowledged the call but threw its content away
  reply(status: number, body: unknown): void;
  fail(status: number, message?: string | string[], extra?: Record<string, unknown>): void;
}
export interface ApiRoute {
  /** which token may call: one kind, or either ("Location|Company", as GHL's Agency-Access + Location-Access) */
  auth: "none" | "Location" | "Company" | "Location|Company";
  normalize?: (body: Record<string, unknown>) => Record<string, unknown>;
  // Bodies GHL does not reject but silently ignores skip schema validation (the handler drops them).
  skipsValidation?: (body: Record<string, unknown>) => boolean;
  handle(ctx: ApiCtx): Promise<void> | void;
}

const API_PREFIX = /^\/(oauth|contacts|conversations|users|locations)(\/|$)/;
const SECRET_KEYS = new Set(["access_token", "refresh_token", "client_secret"]);
export const ERROR_NAMES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Entity",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};
const MAX_CALLS = 50_000;
const INVALID_TOKEN = "Invalid token: access token is invalid";

export async function handleApi(
  sim: Sim,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  routes: Record<string, ApiRoute>,
): Promise<boolean> {
  if (!API_PREFIX.test(url.pathname)) return false;
  const started = Date.now();
  const method = req.method ?? "GET";
  const found = sim.openapi.find(method, url.pathname);
  const route = found ? routes[found.op.operationId] : undefined;
  const raw = await readBody(req);
  const parsed = await parseBody(req.headers["content-type"], raw);
  let rateHeaders: Record<string, string> = {};
  let done = false;
  const ctx: ApiCtx = {
    sim,
    req,
    url,
    op: found?.op as Operation,
    pathParams: found?.pathParams ?? {},
    query: Object.fromEntries(url.searchParams),
    body: parsed.value,
    files: parsed.files,
    traceId: newTraceId(),
    reply(status, body) {
      if (done) return;
      done = true;
      const out = body && typeof body === "object" && !Array.isArray(body) ? { ...body, traceId: ctx.traceId } : body;
      sendJson(res, status, out, rateHeaders);
      // Bounded, so a long benchmark run does not grow the simulator without limit.
      if (sim.state.calls.length >= MAX_CALLS) sim.state.calls.splice(0, sim.state.calls.length - MAX_CALLS + 1);
      sim.state.calls.push({
        id: sim.state.nextCallId++,
        at: new Date(started).toISOString(),
        method,
        path: url.pathname,
        query: ctx.query,
        headers: { version: header(req, "version"), contentType: header(req, "content-type") },
        locationId: ctx.locationId ?? ctx.grant?.locationId,
        companyId: ctx.grant?.companyId,
        status,
        requestBody:
          parsed.kind === "multipart"
            ? {
                ...(maskDeep(ctx.body) as object),
                files: ctx.files.map((f) => ({ field: f.field, name: f.name, type: f.type, size: f.data.length })),
              }
            : maskDeep(ctx.body),
        responseBody: maskDeep(out),
        traceId: ctx.traceId,
        durationMs: Date.now() - started,
        ...(ctx.dropped ? { dropped: ctx.dropped } : {}),
      });
    },
    fail(status, message, extra) {
      const msg = message ?? (status === 401 ? INVALID_TOKEN : (ERROR_NAMES[status] ?? "Error"));
      ctx.reply(status, { statusCode: status, message: msg, error: ERROR_NAMES[status] ?? "Error", ...extra });
    },
  };
  if (!found || !route) return (ctx.fail(404, `Cannot ${method} ${url.pathname}`), true);

  const token = bearer(req);
  const fault = takeFault(sim, method, url.pathname, token);
  if (fault) {
    if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
    if (fault.status) return (ctx.fail(fault.status, fault.message), true);
  }

  if (route.auth !== "none") {
    const grant = token ? findAccess(sim.state, token) : undefined;
    if (!grant) return (ctx.fail(401, INVALID_TOKEN), true);
    ctx.grant = grant;
    if (!route.auth.split("|").includes(grant.userType)) {
      return (
        ctx.fail(
          401,
          "This authClass type is not allowed to access this scope. Please reach out to the Platform team to get it added.",
        ),
        true
      );
    }
    const rl = takeToken(sim.state, sim.cfg, `${grant.userType}:${grant.locationId ?? grant.companyId}`);
    rateHeaders = rl.headers;
    if (!rl.allowed) return (ctx.fail(429, "Too Many Requests"), true);
    // GHL answers a missing or unknown Version with 401 (not 400), in these words.
    const version = header(req, "version");
    if (!version) return (ctx.fail(401, "version header was not found."), true);
    if (sim.openapi.validateParams(found.op, "header", lowerHeaders(req)).length)
      return (ctx.fail(401, "version header is invalid"), true);
    if (found.op.scopes.length && !found.op.scopes.some((s) => grant.scopes.includes(s))) {
      return (ctx.fail(401, "The token is not authorized for this scope."), true);
    }
  }
  if (parsed.kind === "invalid") return (ctx.fail(400, "Unexpected request body"), true);
  if (route.normalize && ctx.body && typeof ctx.body === "object") ctx.body = route.normalize(ctx.body);
  const lenient =
    !!route.skipsValidation && !!ctx.body && typeof ctx.body === "object" && route.skipsValidation(ctx.body);
  const problems = [
    ...sim.openapi.validateParams(found.op, "query", ctx.query),
    ...(found.op.body && !lenient ? sim.openapi.validateBody(found.op, ctx.body ?? {}) : []),
  ];
  if (problems.length) return (ctx.fail(422, problems), true);
  await route.handle(ctx);
  if (!done) ctx.fail(500, "Internal server error");
  return true;
}

// A Location token may only touch its own location; GHL answers 403 for anyone else's.
export function ownsLocation(ctx: ApiCtx, locationId: string | undefined): boolean {
  ctx.locationId = locationId;
  if (ctx.grant?.userType === "Location" && locationId !== ctx.grant.locationId) {
    ctx.fail(403, "The token does not have access to this location.");
    return false;
  }
  return true;
}

function takeFault(sim: Sim, method: string, path: string, token: string | undefined): Fault | undefined {
  const tokenLocation = token ? sim.state.grants.find((g) => g.accessToken === token)?.locationId : undefined;
  const f = sim.state.faults.find(
    (x) =>
      faultPattern(x.path).test(path) &&
      (!x.method || x.method.toUpperCase() === method) &&
      (!x.locationId || x.locationId === tokenLocation),
  );
  if (!f) return undefined;
  f.remaining--;
  if (f.remaining <= 0) sim.state.faults = sim.state.faults.filter((x) => x !== f);
  return f;
}

function faultPattern(p: string): RegExp {
  const trimmed = p.length > 1 ? p.replace(/\/+$/, "") : p;
  return new RegExp(
    `^${trimmed
      .split("*")
      .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
      .join(".*")}/?$`,
  );
}

function bearer(req: IncomingMessage): string | undefined {
  const h = header(req, "authorization");
  const m = h ? /^Bearer\s+(.+)$/i.exec(h) : null;
  return m?.[1]?.trim();
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function lowerHeaders(req: IncomingMessage): Record<string, string | undefined> {
  return Object.fromEntries(
    Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v[0] : v]),
  );
}

// `code` is a secret only as the OAuth authorization code (top level); elsewhere it is an error code.
function maskDeep(v: unknown, top = true): unknown {
  if (Array.isArray(v)) return v.map((x) => maskDeep(x, false));
  if (!v || typeof v !== "object") return v;
  return Object.fromEntries(
    Object.entries(v as Record<string, unknown>).map(([k, x]) => [
      k,
      (SECRET_KEYS.has(k) || (top && k === "code")) && typeof x === "string" ? mask(x) : maskDeep(x, false),
    ]),
  );
}
