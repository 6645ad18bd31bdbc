import { authenticateApiKey, presentedKey } from "../api-keys/api-keys";
import {
  enforcePolicy,
  type PanelSession,
  panelSessionOfRequest,
  refusal,
  sessionCookieFrom,
} from "../auth/panel-session";
import { db } from "../db";
import { env } from "../env";
import { unauthorized } from "../errors";
import { redis } from "../redis";
import { limitApiCall } from "./rate-limit";

// The credentials a route can accept (withAuth's `via`), each answering the same four questions:
// is it on the request, who does it prove, may that caller do this, and is the caller over its
// rate limit. Whoever passes gets exactly one location and must scope everything to it
// (AGENTS.md#tenancy). A GHL signature is not among them: it covers the raw body, so the domain
// function that reads the body checks it (lib/http/signed-body.ts, lib/ghl/webhook-verify.ts).
//   api-key        `x-api-key: gwk_…` or `Authorization: Bearer gwk_…` (lib/api-keys/api-keys.ts);
//                  a browser never adds one by itself, so no CSRF check. It holds the power of the
//                  admin who minted it, so it passes the admin role; the direct API's rate limits
//                  (per key, per location) apply to it.
//   panel-session  next-auth's JWT cookie from the SSO handshake, CSRF-checked on state changes
//                  (lib/auth/panel-session.ts, lib/http/csrf.ts); the role is asked of GHL.

export type Via = "api-key" | "panel-session";
/** "user": anyone of the location; "admin": its admins (GHL's users API decides). */
export type Role = "admin" | "user";

export type ApiKeyCaller = { via: "api-key"; locationId: string; keyId: string; actor: `api-key:${string}` };
export type PanelCaller = { via: "panel-session"; locationId: string; identity: PanelSession; actor: `user:${string}` };
export type Caller = ApiKeyCaller | PanelCaller;
export type CallerOf<V extends Via> = Extract<Caller, { via: V }>;

/** What a route asks beyond a credential; a recent handshake only means something for a panel session. */
export type Need = { role: Role; recentHandshake: boolean };

export type Credential<C extends Caller> = {
  /** Whether the request carries this credential at all: the first one presented decides. */
  presented(req: Request): boolean;
  /** The caller, or the refusal thrown in the one error shape; `hint` says what to send instead. */
  authenticate(req: Request, hint: string): Promise<C>;
  /** Throws the refusal (403, 401 reauth_required, 503 roles_unavailable) unless the caller meets `need`. */
  authorize(caller: C, need: Need): Promise<void>;
  /** A 429 to answer instead of running the route, or null. */
  limit(caller: C): Promise<Response | null>;
  /** What to send, when this is the only credential a route takes; and as one of several. */
  hint: string;
  alternative: string;
};

export type Credentials = { [V in Via]: Credential<CallerOf<V>> };

const apiKey: Credential<ApiKeyCaller> = {
  presented: (req) => !!presentedKey(req.headers),
  async authenticate(req) {
    const a = await authenticateApiKey(db(), presentedKey(req.headers) ?? "");
    if (!a) throw unauthorized("this API key is not valid (revoked, mistyped, or its location was uninstalled)");
    return { via: "api-key", locationId: a.locationId, keyId: a.keyId, actor: `api-key:${a.keyId}` };
  },
  async authorize() {},
  limit: (c) => limitApiKeyCall(c),
  hint: "send your API key in the x-api-key header or as Authorization: Bearer <key>",
  alternative: "send an API key (x-api-key)",
};

const panelSession: Credential<PanelCaller> = {
  presented: (req) => !!sessionCookieFrom(req.headers.get("cookie")),
  async authenticate(req, hint) {
    const s = await panelSessionOfRequest(req); // CSRF-checked: see lib/http/csrf.ts
    if (!s.ok) throw refusal(s.reason, hint);
    return {
      via: "panel-session",
      locationId: s.identity.locationId,
      identity: s.identity,
      actor: `user:${s.identity.userId}`,
    };
  },
  authorize: (c, need) =>
    enforcePolicy(c.identity, { admin: need.role === "admin", recentHandshake: need.recentHandshake }),
  limit: async () => null,
  hint: "open the panel from GoHighLevel to sign in",
  alternative: "open the panel from GoHighLevel",
};

export const CREDENTIALS: Credentials = { "api-key": apiKey, "panel-session": panelSession };

// the direct API's rate limits (per key, per location; lib/http/rate-limit.ts): a 429, or null
function limitApiKeyCall(who: { locationId: string; keyId: string }): Promise<Response | null> {
  const e = env();
  return limitApiCall(redis(), who, {
    perKey: e.API_RATE_LIMIT_PER_KEY,
    perLocation: e.API_RATE_LIMIT_PER_LOCATION,
    windowSeconds: e.API_RATE_LIMIT_WINDOW_SECONDS,
  });
}
