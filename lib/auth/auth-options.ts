import type { AuthOptions } from "next-auth";
import CredentialsProvider from "next-auth/providers/credentials";
import { z } from "zod";
import { db } from "../db";
import { env } from "../env";
import { decryptSsoPayload, SsoPayloadError } from "../ghl/sso";
import { childLogger } from "../log";
import { identityFor, SsoRefused, stillAllowed, type PanelIdentity } from "./panel-identity";

// next-auth for the panel: one Credentials provider, `ghl-sso`, whose credential is GHL's encrypted
// user payload. JWT sessions (no adapter), cookies that work inside GHL's iframe.

export const PANEL_SESSION_COOKIE = "gw.panel-session";
export const SESSION_MAX_AGE_S = 8 * 3600;

// SameSite=None so the cookie travels inside a third-party iframe; Secure as SameSite=None requires
// (Chromium accepts it on http://localhost and 127.0.0.1); Partitioned is added by the route handler,
// since next-auth 4 cannot serialise it.
const frameCookie = (name: string, httpOnly = true) => ({ name, options: { httpOnly, sameSite: "none" as const, path: "/", secure: true } });

const identityKeys = ["userId", "companyId", "role", "userName", "email", "locationId", "agency"] as const;

export function authOptions(): AuthOptions {
  return {
    secret: env().NEXTAUTH_SECRET,
    // next-auth's own logger writes to console.error, also for a caller's garbage (a tampered session
    // cookie is JWT_SESSION_ERROR): into our JSON logs instead, as warnings, with no token in them
    logger: {
      error: (code, metadata) => childLogger({ module: "next-auth" }).warn({ code, message: metadata instanceof Error ? metadata.message : undefined }, "next-auth refused a request"),
      warn: (code) => childLogger({ module: "next-auth" }).warn({ code }, "next-auth warning"),
      debug: () => {},
    },
    session: { strategy: "jwt", maxAge: SESSION_MAX_AGE_S },
    jwt: { maxAge: SESSION_MAX_AGE_S },
    cookies: {
      sessionToken: frameCookie(PANEL_SESSION_COOKIE),
      csrfToken: frameCookie("gw.csrf"),
      callbackUrl: frameCookie("gw.callback-url"),
    },
    providers: [
      CredentialsProvider({
        id: "ghl-sso",
        name: "GoHighLevel",
        credentials: { payload: { label: "payload", type: "text" } },
        async authorize(credentials) {
          const payload = z.string().min(1).safeParse(credentials?.payload);
          if (!payload.success) throw new Error("invalid_payload");
          try {
            const user = decryptSsoPayload(payload.data, env().GHL_SSO_KEY);
            const identity = await identityFor(db(), user);
            return { id: identity.userId, ...identity };
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
        if (user) for (const k of identityKeys) (token as Record<string, unknown>)[k] = (user as unknown as PanelIdentity)[k];
        if (trigger === "update") await switchLocation(token as unknown as PanelIdentity, session);
        return token;
      },
      async session({ session, token }) {
        return { ...session, panel: Object.fromEntries(identityKeys.map((k) => [k, (token as Record<string, unknown>)[k]])) };
      },
    },
  };
}

// Only an agency session may move, and only to an installed location of its own company.
async function switchLocation(identity: PanelIdentity, request: unknown) {
  const to = z.object({ locationId: z.string().min(1).max(100) }).safeParse(request);
  if (!to.success || !identity.agency) return;
  const target = { ...identity, locationId: to.data.locationId };
  const loc = await db().location.findFirst({ where: { id: target.locationId, companyId: identity.companyId }, select: { id: true } });
  if (loc && (await stillAllowed(db(), target))) identity.locationId = loc.id;
  else childLogger({ locationId: identity.locationId }).warn({ requested: to.data.locationId }, "location switch refused");
}
