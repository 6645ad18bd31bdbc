import { db } from "../db";
import { env } from "../env";
import { unauthorized } from "../errors";
import { handle, type RouteContext } from "../http/handler";
import { limitApiCall } from "../http/rate-limit";
import { redis } from "../redis";
import { authenticateApiKey, presentedKey } from "./api-keys";

// Direct-API auth: `x-api-key: gwk_…` or `Authorization: Bearer gwk_…`. The handler receives the
// key's location and must scope everything to it.
export type ApiKeyAuth = { locationId: string; keyId: string; requestId: string };

export function withApiKey<P = Record<string, string>>(
  fn: (req: Request, auth: ApiKeyAuth, params: P) => Promise<Response>,
) {
  return handle<P>(async (req, ctx: RouteContext<P> & { requestId: string }) => {
    const key = presentedKey(req.headers);
    if (!key) throw unauthorized("send your API key in the x-api-key header or as Authorization: Bearer <key>");
    const auth = await authenticateApiKey(db(), key);
    if (!auth) throw unauthorized("this API key is not valid (revoked, mistyped, or its location was uninstalled)");
    const limited = await limitApiKeyCall(auth);
    if (limited) return limited;
    return fn(req, { ...auth, requestId: ctx.requestId }, await ctx.params);
  });
}

/**
 * The direct API's rate limits (per key, per location; lib/http/rate-limit.ts) for a call made
 * with an API key: a 429 Response to return, or null. withApiKey applies it; routes that also take
 * the panel session (withTenant) call it for their API-key calls.
 */
export function limitApiKeyCall(who: { locationId: string; keyId: string }): Promise<Response | null> {
  const e = env();
  return limitApiCall(redis(), who, { perKey: e.API_RATE_LIMIT_PER_KEY, perLocation: e.API_RATE_LIMIT_PER_LOCATION, windowSeconds: e.API_RATE_LIMIT_WINDOW_SECONDS });
}

/** The API key behind a withTenant call (its actor is `api-key:<id>`), or null for the panel. */
export function apiKeyOfTenantCall(auth: { via: string; actor: string; locationId: string }): { locationId: string; keyId: string } | null {
  if (auth.via !== "api-key") return null;
  return { locationId: auth.locationId, keyId: auth.actor.startsWith("api-key:") ? auth.actor.slice("api-key:".length) : auth.actor };
}

/** limitApiKeyCall for a withTenant route: panel calls are not limited here. */
export async function limitTenantCall(auth: { via: string; actor: string; locationId: string }): Promise<Response | null> {
  const k = apiKeyOfTenantCall(auth);
  return k ? limitApiKeyCall(k) : null;
}
