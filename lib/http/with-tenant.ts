import { db } from "../db";
import { unauthorized } from "../errors";
import { authenticateApiKey, presentedKey } from "../api-keys/api-keys";
import { enforcePolicy, panelSessionOfRequest, refusal, type PanelPolicy } from "../auth/panel-session";
import { handle, type RouteContext } from "./handler";

// Routes used both by the panel (session cookie) and by integrations (API key). An API key, when
// presented, decides (a browser never adds one by itself, so no CSRF check); otherwise the panel
// session does. Either way the handler gets exactly one
// location and must scope everything to it. `{ admin: true }` limits the panel to the location's
// admins (GHL's users API); an API key passes, since only an admin can mint one.
export type TenantAuth = { locationId: string; via: "api-key" | "panel"; actor: string; requestId: string };

export function withTenant<P = Record<string, string>>(fn: (req: Request, auth: TenantAuth, params: P) => Promise<Response>, policy?: Pick<PanelPolicy, "admin"> | ((params: P) => Pick<PanelPolicy, "admin">)) {
  return handle<P>(async (req, ctx: RouteContext<P> & { requestId: string }) => {
    const key = presentedKey(req.headers);
    if (key) {
      const a = await authenticateApiKey(db(), key);
      if (!a) throw unauthorized("this API key is not valid (revoked, mistyped, or its location was uninstalled)");
      return fn(req, { locationId: a.locationId, via: "api-key", actor: `api-key:${a.keyId}`, requestId: ctx.requestId }, await ctx.params);
    }
    const s = await panelSessionOfRequest(req); // CSRF-checked: see lib/http/csrf.ts
    if (!s.ok) throw refusal(s.reason, "send an API key (x-api-key) or open the panel from GoHighLevel");
    const params = await ctx.params;
    await enforcePolicy(s.identity, typeof policy === "function" ? policy(params) : policy);
    return fn(req, { locationId: s.identity.locationId, via: "panel", actor: `user:${s.identity.userId}`, requestId: ctx.requestId }, params);
  });
}
