import { decode } from "next-auth/jwt";
import { z } from "zod";
import { db } from "../db";
import { env } from "../env";
import { AppError, unauthorized } from "../errors";
import { assertCookieRequestAllowed } from "../http/csrf";
import { handle, type RouteContext } from "../http/handler";
import { PANEL_SESSION_COOKIE } from "./auth-options";
import { stillAllowed, type PanelIdentity } from "./panel-identity";

// The panel session, read straight from next-auth's JWT cookie so that route handlers, Server
// Components and tests share one path. The location comes from the session only: never from a
// query string, header or body, so a session of location A cannot name location B.

const identitySchema = z.object({
  userId: z.string(), companyId: z.string(), role: z.string(), userName: z.string().nullable(), email: z.string().nullable(),
  locationId: z.string(), agency: z.boolean(),
});

export type PanelSessionState = { ok: true; identity: PanelIdentity } | { ok: false; reason: "none" | "expired" | "not_installed" };

export function sessionCookieFrom(cookieHeader: string | null | undefined): string | undefined {
  for (const part of (cookieHeader ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === PANEL_SESSION_COOKIE) return decodeOrRaw(part.slice(i + 1).trim());
  }
  return undefined;
}

// a malformed %-escape is a bad cookie (refused as no session later), not a URIError and a 500
function decodeOrRaw(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

/** Decodes and re-checks a session cookie value: expired, tampered and uninstalled are all refusals. */
export async function panelSessionFrom(cookieValue: string | undefined): Promise<PanelSessionState> {
  if (!cookieValue) return { ok: false, reason: "none" };
  let payload: unknown;
  try {
    payload = await decode({ token: cookieValue, secret: env().NEXTAUTH_SECRET });
  } catch {
    return { ok: false, reason: "expired" }; // expired and tampered look alike: the cure is a new handshake
  }
  const id = identitySchema.safeParse(payload);
  if (!id.success) return { ok: false, reason: "expired" };
  if (!(await stillAllowed(db(), id.data))) return { ok: false, reason: "not_installed" };
  return { ok: true, identity: id.data };
}

/**
 * The panel session of an API request — the one path every cookie-authenticated route takes
 * (withLocation, withTenant), so that none can skip the CSRF check: a state change made with the
 * cookie must be a same-origin (or allowed GHL origin) JSON request (lib/http/csrf.ts).
 */
export async function panelSessionOfRequest(req: Request): Promise<PanelSessionState> {
  const cookie = sessionCookieFrom(req.headers.get("cookie"));
  if (cookie) assertCookieRequestAllowed(req);
  return panelSessionFrom(cookie);
}

export type LocationAuth = { locationId: string; identity: PanelIdentity; requestId: string };

/**
 * For panel API routes: `export const GET = withLocation(async (req, auth, params) => …)`.
 * 401 without a valid session, 403 once the location is uninstalled; `auth.locationId` is the only
 * tenant the handler may touch.
 */
export function withLocation<P = Record<string, string>>(fn: (req: Request, auth: LocationAuth, params: P) => Promise<Response>) {
  return handle<P>(async (req, ctx: RouteContext<P> & { requestId: string }) => {
    const s = await panelSessionOfRequest(req);
    if (!s.ok) {
      if (s.reason === "not_installed") throw new AppError("not_installed", "the app is no longer installed for this location", 403);
      throw unauthorized("open the panel from GoHighLevel to sign in");
    }
    return fn(req, { locationId: s.identity.locationId, identity: s.identity, requestId: ctx.requestId }, await ctx.params);
  });
}
