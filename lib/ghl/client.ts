import type { Redis } from "ioredis";
import { type Db, db as defaultDb } from "../db";
import { env } from "../env";
import { AppError } from "../errors";
import { childLogger } from "../log";
import { metrics } from "../ops/metrics";
import { redis as defaultRedis } from "../redis";
import type { TenantKind } from "../tenants/token-store";
import { waitForGhlSlot } from "./rate-window";
import { refreshTenant, validAccessToken } from "./token-refresh";

// The one GHL client (AGENTS.md#one-ghl-client). Every call: a fresh-enough token (refreshed ahead of
// expiry, and once more on a 401), the endpoint's Version header, per-tenant pacing under GHL's
// 100-per-10-s limit, backoff on 429/5xx, and the response's traceId in the logs.

export type GhlRequest = {
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string; // with query string
  json?: unknown;
  form?: Record<string, string>;
};

export class GhlApiError extends AppError {
  constructor(
    readonly httpStatus: number,
    message: string,
    readonly traceId?: string,
    readonly body?: unknown,
  ) {
    super(
      httpStatus === 429 ? "rate_limited" : httpStatus >= 500 ? "ghl_unavailable" : "ghl_refused",
      `GHL answered ${httpStatus}: ${message}`,
    );
    this.name = "GhlApiError";
  }
}

/** `Version` per endpoint family (docs/ghl.md#api-base-and-versions). */
const ghlCalls = metrics().counter("gw_ghl_api_calls_total", "GHL API calls by method and HTTP status");

export function versionFor(path: string): string {
  return path.startsWith("/conversations") ? "2021-04-15" : "2021-07-28";
}

export type GhlClientOptions = { db?: Db; redis?: Redis; maxRetries?: number; baseDelayMs?: number; baseUrl?: string };

export type GhlClient = {
  <T = unknown>(method: "GET" | "POST" | "PUT", path: string, body?: unknown): Promise<T>;
  request<T = unknown>(r: GhlRequest): Promise<T>;
};

export function ghlClient(locationId: string, o: GhlClientOptions = {}): GhlClient {
  return tenantClient("location", locationId, o);
}

export function ghlCompanyClient(companyId: string, o: GhlClientOptions = {}): GhlClient {
  return tenantClient("company", companyId, o);
}

function tenantClient(kind: TenantKind, id: string, o: GhlClientOptions): GhlClient {
  const deps = { db: o.db ?? defaultDb(), redis: o.redis ?? defaultRedis() };
  const maxRetries = o.maxRetries ?? 3;
  const baseDelay = o.baseDelayMs ?? 500;
  const log = childLogger({ [kind === "location" ? "locationId" : "companyId"]: id, component: "ghl-client" });

  async function request<T>(r: GhlRequest): Promise<T> {
    let pair = await validAccessToken(deps, kind, id);
    let refreshedOn401 = false;
    for (let attempt = 0; ; attempt++) {
      await waitForGhlSlot(deps.redis, `${kind}:${id}`);
      const res = await send(o.baseUrl ?? env().GHL_API_BASE_URL, r, pair.accessToken);
      const body = (await res.json().catch(() => undefined)) as Record<string, unknown> | undefined;
      const traceId = typeof body?.traceId === "string" ? body.traceId : (res.headers.get("x-trace-id") ?? undefined);
      log.debug({ method: r.method, path: r.path.split("?")[0], status: res.status, traceId }, "GHL call");
      ghlCalls.inc({ method: r.method, status: res.status });
      if (res.ok) return body as T;
      if (res.status === 401 && !refreshedOn401 && isTokenProblem(body)) {
        refreshedOn401 = true;
        pair = await refreshTenant(deps, kind, id, pair.expiresAt);
        continue;
      }
      const retryable = res.status === 429 || res.status >= 500;
      if (retryable && attempt < maxRetries) {
        const wait = retryDelay(res, attempt, baseDelay);
        log.warn({ status: res.status, traceId, attempt, wait }, "GHL call failed; retrying");
        await new Promise((s) => setTimeout(s, wait));
        continue;
      }
      const message = Array.isArray(body?.message) ? body!.message.join("; ") : String(body?.message ?? res.statusText);
      log.warn({ method: r.method, path: r.path.split("?")[0], status: res.status, traceId }, "GHL call failed");
      throw new GhlApiError(res.status, message, traceId, body);
    }
  }

  const call = (<T>(method: "GET" | "POST" | "PUT", path: string, body?: unknown) =>
    request<T>({ method, path, json: body })) as GhlClient;
  call.request = request;
  return call;
}

function send(base: string, r: GhlRequest, token: string): Promise<Response> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${token}`,
    accept: "application/json",
    version: versionFor(r.path),
  };
  let body: string | undefined;
  if (r.form) {
    headers["content-type"] = "application/x-www-form-urlencoded";
    body = new URLSearchParams(r.form).toString();
  } else if (r.json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(r.json);
  }
  return fetch(new URL(r.path, base), { method: r.method, headers, body, signal: AbortSignal.timeout(30_000) });
}

// 401s about Version or scopes are not cured by a new token; only "invalid token" ones are.
function isTokenProblem(body: Record<string, unknown> | undefined): boolean {
  const m = String(body?.message ?? "");
  return !/version header|scope|authClass/i.test(m);
}

function retryDelay(res: Response, attempt: number, base: number): number {
  const retryAfter = Number(res.headers.get("retry-after"));
  if (Number.isFinite(retryAfter) && retryAfter > 0) return Math.min(retryAfter * 1000, 30_000);
  if (res.status === 429) {
    const interval = Number(res.headers.get("x-ratelimit-interval-milliseconds"));
    if (Number.isFinite(interval) && interval > 0) return Math.min(interval, 30_000);
  }
  return Math.round(base * 2 ** attempt * (0.75 + Math.random() * 0.5));
}
