import { unauthorized } from "../errors";
import {
  type Caller,
  type CallerOf,
  CREDENTIALS,
  type Credential,
  type Credentials,
  type Role,
  type Via,
} from "./credentials";
import { handle, type RouteContext } from "./handler";

// The one way to authenticate a route (AGENTS.md#tenancy, SECURITY.md has the table of who may do
// what):
//   export const POST = withAuth({ via: ["api-key", "panel-session"], role: "admin" }, async (req, auth, params) => …)
// `via` lists the credentials the route accepts, in order: the first one the request carries
// decides, and a bad one is refused rather than passed over for the next (an API key sent beside a
// session cookie is judged as an API key). None at all is a 401 that says what to send. Then the
// role (the admin role asks GHL and fails closed), then, for API keys, the direct API's rate limits.
// `auth` is the caller: its `via`, its one `locationId`, `actor` for the audit trail, and the key
// or the panel identity. Routes whose authorisation is in the request itself (GHL's signature on
// the body, a signed media path, the OAuth state) use `handle` (lib/http/handler.ts) and check it
// in the domain function.

export type AuthOptions<V extends Via, P> = {
  via: readonly V[];
  /** Default "user". A function of the path's params where the action decides (e.g. /api/instances/:id/:action). */
  role?: Role | ((params: P) => Role);
  /** A panel session must come from an SSO handshake of the last PANEL_REAUTH_WINDOW_S (401 reauth_required). */
  recentHandshake?: boolean;
};

export type Auth<V extends Via> = CallerOf<V> & { requestId: string };

export type RouteHandler<P> = (req: Request, ctx: RouteContext<P>) => Promise<Response>;

/** withAuth over a given set of credentials (tests pass their own). */
export function authFamily(credentials: Credentials) {
  return function withAuth<const V extends Via, P = Record<string, string>>(
    o: AuthOptions<V, P>,
    fn: (req: Request, auth: Auth<V>, params: P) => Promise<Response>,
  ): RouteHandler<P> {
    if (o.via.length === 0) throw new Error("withAuth: name at least one credential in via");
    if (o.recentHandshake && o.via.some((v) => v !== "panel-session"))
      throw new Error("withAuth: recentHandshake is for panel sessions only");
    const hint =
      o.via.length === 1 ? credentials[o.via[0]].hint : o.via.map((v) => credentials[v].alternative).join(" or ");
    return handle<P>(async (req, ctx) => {
      const via = o.via.find((v) => credentials[v].presented(req));
      if (!via) throw unauthorized(hint);
      // the credential and its own caller (TypeScript cannot tie the two through the union)
      const credential = credentials[via] as unknown as Credential<Caller>;
      const caller = await credential.authenticate(req, hint);
      const params = await ctx.params;
      const role = typeof o.role === "function" ? o.role(params) : (o.role ?? "user");
      await credential.authorize(caller, { role, recentHandshake: !!o.recentHandshake });
      const limited = await credential.limit(caller);
      if (limited) return limited;
      return fn(req, { ...caller, requestId: ctx.requestId } as Auth<V>, params);
    });
  };
}

export const withAuth = authFamily(CREDENTIALS);
