import { decode } from "next-auth/jwt";
import { z } from "zod";
import { db } from "../db";
import { env } from "../env";
import { AppError, unauthorized } from "../errors";
import { assertCookieRequestAllowed } from "../http/csrf";
import { PANEL_SESSION_COOKIE } from "./auth-options";
import { canOpen, isAdminAt, userAccess } from "./ghl-user-access";
import { type PanelIdentity, stillAllowed } from "./panel-identity";

// The panel session, read straight from next-auth's JWT cookie so that route handlers, Server
// Components and tests share one path. The location comes from the session only: never from a
// query string, header or body, so a session of location A cannot name location B.
//
// Its life is bounded by the SSO handshake, not by next-auth's rolling renewal: `authTime` is set at
// sign-in and never moved, so a session dies PANEL_SESSION_ABSOLUTE_S after it, and actions that
// hand out lasting power (an API key, the webhook's destination) want a handshake from the last
// PANEL_REAUTH_WINDOW_S. `checkedAt` is when GHL last confirmed the user; after PANEL_USER_RECHECK_S
// every request asks again (cached), so a user removed in GHL is out within minutes.

const identitySchema = z.object({
  userId: z.string(),
  companyId: z.string(),
  role: z.string(),
  userName: z.string().nullable(),
  email: z.string().nullable(),
  locationId: z.string(),
  agency: z.boolean(),
  authTime: z.number(),
  checkedAt: z.number(),
});

/** The identity and when its handshake was (ms), and when GHL last confirmed the user (ms). */
export type PanelSession = PanelIdentity & { authTime: number; checkedAt: number };
export type PanelSessionState =
  | { ok: true; identity: PanelSession }
  | { ok: false; reason: "none" | "expired" | "not_installed" | "revoked" };

export const sessionOutlived = (authTime: number, now = Date.now()) =>
  now - authTime > env().PANEL_SESSION_ABSOLUTE_S * 1000;
export const needsRecheck = (checkedAt: number, now = Date.now()) =>
  now - checkedAt > env().PANEL_USER_RECHECK_S * 1000;

/** A user GHL no longer knows, or who lost this location, has no session; GHL not answering keeps it (reads only). */
export async function stillUserOfLocation(id: PanelIdentity): Promise<boolean> {
  const a = await userAccess(id);
  return a.status === "unavailable" || (a.status === "ok" && canOpen(a, id.locationId));
}

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
  // a cookie without authTime predates bounded sessions: it is as old as we cannot tell, so expired
  if (!id.success || sessionOutlived(id.data.authTime)) return { ok: false, reason: "expired" };
  if (!(await stillAllowed(db(), id.data))) return { ok: false, reason: "not_installed" };
  if (needsRecheck(id.data.checkedAt) && !(await stillUserOfLocation(id.data))) return { ok: false, reason: "revoked" };
  return { ok: true, identity: id.data };
}

/** What a route needs beyond a session: an admin of the location, and a recent handshake. */
export type PanelPolicy = { admin?: boolean; recentHandshake?: boolean };

/**
 * Admin-only actions ask GHL (cached PANEL_ROLE_CACHE_S) and fail closed: no answer is a 503, not a
 * yes. The SSO payload's own `role` is not used: it is as old as the handshake.
 */
export async function requireAdmin(id: PanelIdentity): Promise<void> {
  const a = await userAccess(id);
  if (a.status === "unavailable")
    throw new AppError("roles_unavailable", "GoHighLevel could not confirm your role right now; try again in a minute");
  if (a.status === "gone" || !canOpen(a, id.locationId))
    throw new AppError("no_access", "GoHighLevel no longer gives you access to this location");
  if (!isAdminAt(a, id.locationId)) throw new AppError("admin_required", "only an admin of this location can do this");
}

/** 401 reauth_required: the panel answers it by running the SSO handshake again, then retries. */
export function requireRecentHandshake(s: PanelSession, now = Date.now()): void {
  if (now - s.authTime > env().PANEL_REAUTH_WINDOW_S * 1000) {
    throw new AppError("reauth_required", "confirm it is you: sign in again through GoHighLevel, then retry");
  }
}

export async function enforcePolicy(s: PanelSession, policy: PanelPolicy | undefined): Promise<void> {
  if (policy?.admin) await requireAdmin(s);
  if (policy?.recentHandshake) requireRecentHandshake(s);
}

/** The refusal of a session state that is not ok, in the one error shape. */
export function refusal(reason: Exclude<PanelSessionState, { ok: true }>["reason"], hint: string): AppError {
  if (reason === "not_installed")
    return new AppError("not_installed", "the app is no longer installed for this location");
  if (reason === "revoked")
    return new AppError("session_revoked", "GoHighLevel no longer gives you access to this location");
  return unauthorized(hint);
}

/**
 * The panel session of an API request — the one path every cookie-authenticated route takes
 * (withAuth's "panel-session", lib/http/credentials.ts), so that none can skip the CSRF check: a
 * state change made with the cookie must be a same-origin (or allowed GHL origin) JSON request
 * (lib/http/csrf.ts).
 */
export async function panelSessionOfRequest(req: Request): Promise<PanelSessionState> {
  const cookie = sessionCookieFrom(req.headers.get("cookie"));
  if (cookie) assertCookieRequestAllowed(req);
  return panelSessionFrom(cookie);
}
