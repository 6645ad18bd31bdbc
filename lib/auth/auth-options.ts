import type { AuthOptions } from "next-auth";
import { encode, type JWT, type JWTEncodeParams } from "next-auth/jwt";
import CredentialsProvider from "next-auth/providers/credentials";
import { z } from "zod";
import { db } from "../db";
import { env } from "../env";
import { claimSsoPayloadOnce, decryptSsoPayload, SsoPayloadError } from "../ghl/sso";
import { childLogger } from "../log";
import { redis } from "../redis";
import { canOpen, userAccess } from "./ghl-user-access";
import { identityFor, type PanelIdentity, SsoRefused, stillAllowed } from "./panel-identity";

// next-auth for the panel: one Credentials provider, `ghl-sso`, whose credential is GHL's encrypted
// user payload. JWT sessions (no adapter), cookies that work inside GHL's iframe.

export const PANEL_SESSION_COOKIE = "gw.panel-session";
/** next-auth's rolling life (renewed on use); the absolute one is PANEL_SESSION_ABSOLUTE_S from the handshake. */
export const SESSION_MAX_AGE_S = 8 * 3600;

// SameSite=None so the cookie travels inside a third-party iframe; Secure as SameSite=None requires
// (Chromium accepts it on http://localhost and 127.0.0.1); Partitioned is added by the route handler,
// since next-auth 4 cannot serialise it.
const frameCookie = (name: string, httpOnly = true) => ({
  name,
  options: { httpOnly, sameSite: "none" as const, path: "/", secure: true },
});

const identityKeys = ["userId", "companyId", "role", "userName", "email", "locationId", "agency"] as const;
type Claims = PanelIdentity & { authTime: number; checkedAt: number };

export function authOptions(): AuthOptions {
  return {
    secret: env().NEXTAUTH_SECRET,
    // next-auth's own logger writes to console.error, also for a caller's garbage (a tampered session
    // cookie is JWT_SESSION_ERROR): into our JSON logs instead, as warnings, with no token in them
    logger: {
      error: (code, metadata) =>
        childLogger({ module: "next-auth" }).warn(
          { code, message: metadata instanceof Error ? metadata.message : undefined },
          "next-auth refused a request",
        ),
      warn: (code) => childLogger({ module: "next-auth" }).warn({ code }, "next-auth warning"),
      debug: () => {},
    },
    session: { strategy: "jwt", maxAge: SESSION_MAX_AGE_S },
    // the JWT never outlives the handshake's absolute life, however often next-auth renews it
    jwt: { maxAge: SESSION_MAX_AGE_S, encode: boundedEncode },
    cookies: {
      sessionToken: frameCookie(PANEL_SESSION_COOKIE),
      csrfToken: frameCookie("gw.csrf"),
      callbackUrl: frameCookie("gw.callback-url"),
    },
    providers: [
      CredentialsProvider({
        id: "ghl-sso",
        name: "GoHighLevel",
        // locationId: where an agency session was, when the panel re-authenticates (a hint, checked)
        credentials: { payload: { label: "payload", type: "text" }, locationId: { label: "locationId", type: "text" } },
        async authorize(credentials) {
          const payload = z.string().min(1).safeParse(credentials?.payload);
          if (!payload.success) throw new Error("invalid_payload");
          const hint = z.string().min(1).max(100).safeParse(credentials?.locationId);
          try {
            const user = decryptSsoPayload(payload.data, env().GHL_SSO_KEY);
            // the payload has no time of its own: it may sign in once (lib/ghl/sso.ts)
            if (!(await claimSsoPayloadOnce(redis(), payload.data, env().PANEL_SSO_REPLAY_TTL_S)))
              throw new Error("payload_reused");
            const at = user.activeLocation ?? (hint.success ? hint.data : await firstInstalled(user.companyId));
            const access = at
              ? await userAccess({
                  userId: user.userId,
                  companyId: user.companyId,
                  locationId: at,
                  agency: !user.activeLocation,
                })
              : { status: "unavailable" as const, why: "no location" };
            const identity = await identityFor(db(), user, access, hint.success ? hint.data : undefined);
            const now = Date.now();
            return { id: identity.userId, ...identity, authTime: now, checkedAt: access.status === "ok" ? now : 0 };
          } catch (err) {
            if (err instanceof SsoPayloadError) throw new Error("invalid_payload");
            if (err instanceof SsoRefused) throw new Error(err.reason);
            throw err;
          }
        },
      }),
    ],
    callbacks: {
      async jwt({ token, user, trigger, session }) {
        if (user) {
          const u = user as unknown as Claims;
          for (const k of identityKeys) (token as Record<string, unknown>)[k] = u[k];
          Object.assign(token, { authTime: u.authTime, checkedAt: u.checkedAt });
          return token;
        }
        // renewal: authTime is never moved; an outlived session, or a user GHL no longer lets in, ends
        const claims = token as unknown as Claims;
        if (typeof claims.authTime !== "number" || Date.now() - claims.authTime > env().PANEL_SESSION_ABSOLUTE_S * 1000)
          return ended(token);
        if (Date.now() - (claims.checkedAt ?? 0) > env().PANEL_USER_RECHECK_S * 1000) {
          const a = await userAccess(claims);
          if (a.status === "gone" || (a.status === "ok" && !canOpen(a, claims.locationId))) {
            childLogger({ locationId: claims.locationId }).info(
              { userId: claims.userId },
              "panel session ended: GHL no longer lets the user in",
            );
            return ended(token);
          }
          if (a.status === "ok") claims.checkedAt = Date.now();
        }
        if (trigger === "update") await switchLocation(claims, session);
        return token;
      },
      async session({ session, token }) {
        return {
          ...session,
          panel: Object.fromEntries(identityKeys.map((k) => [k, (token as Record<string, unknown>)[k]])),
        };
      },
    },
  };
}

// Only an agency session may move, and only to an installed location of its own company that GHL
// lets this user open (agency admin: all of them; agency user: roles.locationIds). GHL not
// answering: no move.
async function switchLocation(identity: Claims, request: unknown) {
  const to = z.object({ locationId: z.string().min(1).max(100) }).safeParse(request);
  if (!to.success || !identity.agency) return;
  const target = { ...identity, locationId: to.data.locationId };
  const loc = await db().location.findFirst({
    where: { id: target.locationId, companyId: identity.companyId },
    select: { id: true },
  });
  const access = loc && (await stillAllowed(db(), target)) ? await userAccess(identity) : undefined;
  if (loc && access?.status === "ok" && canOpen(access, loc.id)) identity.locationId = loc.id;
  else
    childLogger({ locationId: identity.locationId }).warn(
      { requested: to.data.locationId, roles: access?.status },
      "location switch refused",
    );
}

async function firstInstalled(companyId: string): Promise<string | undefined> {
  const l = await db().location.findFirst({
    where: { companyId, installed: true, uninstalledAt: null },
    orderBy: [{ name: "asc" }, { id: "asc" }],
    select: { id: true },
  });
  return l?.id;
}

// An ended session: a token without identity, which panelSessionFrom refuses.
function ended(token: JWT): JWT {
  return { ended: true, iat: token.iat } as unknown as JWT;
}

function boundedEncode(params: JWTEncodeParams): Promise<string> {
  const authTime = (params.token as { authTime?: unknown } | undefined)?.authTime;
  const maxAge = params.maxAge ?? SESSION_MAX_AGE_S;
  if (typeof authTime !== "number") return encode({ ...params, maxAge });
  const left = Math.floor((authTime + env().PANEL_SESSION_ABSOLUTE_S * 1000 - Date.now()) / 1000);
  return encode({ ...params, maxAge: Math.max(1, Math.min(maxAge, left)) });
}
