import { createHmac, randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { z } from "zod";
import { derivedKey, derivedKeys, safeEqual } from "../crypto";
import { env } from "../env";

// The OAuth side of GHL (docs/ghl.md#oauth): authorize URL with a single-use state, code exchange,
// refresh, and Location tokens minted from a Company token. Raw HTTP here; tenants/ stores results.

export const tokenResponseSchema = z
  .object({
    access_token: z.string().min(1),
    refresh_token: z.string().min(1).optional(),
    expires_in: z.coerce.number().positive(),
    scope: z.string().optional(),
    userType: z.enum(["Company", "Location"]).optional(),
    companyId: z.string().optional(),
    locationId: z.string().optional(),
    userId: z.string().optional(),
    isBulkInstallation: z.boolean().optional(),
    approvedLocations: z.array(z.string()).optional(),
  })
  .passthrough();
export type TokenResponse = z.infer<typeof tokenResponseSchema>;

export class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
  ) {
    super(message);
    this.name = "OAuthError";
  }
  get invalidGrant() {
    return this.error === "invalid_grant";
  }
}

const STATE_TTL_S = 600;
const stateKey = (s: string) => `gw:oauth:state:${s}`;

/** A state only this app could have issued, valid for 10 minutes and for one callback. */
export async function createInstallState(redis: Redis): Promise<string> {
  const state = randomBytes(24).toString("base64url");
  await redis.set(stateKey(state), "1", "EX", STATE_TTL_S);
  return state;
}

export async function consumeInstallState(redis: Redis, state: string): Promise<boolean> {
  if (!/^[A-Za-z0-9_-]{16,64}$/.test(state)) return false;
  return (await redis.getdel(stateKey(state))) === "1";
}

// The state proves the callback answers an install this app started, not that it is the same
// browser: an attacker could start an install, stop at GHL's redirect and send the callback URL
// (their code, their valid state) to a victim, whose browser would then complete the attacker's
// install. So the browser that starts the install gets a short-lived HttpOnly cookie holding a MAC
// of its state, and a callback that carries a state must bring the matching cookie. SameSite=Lax:
// GHL's redirect back is a top-level GET from another site, which Lax cookies accompany.
export const STATE_COOKIE = "gw_oauth_state";
const STATE_COOKIE_PATH = "/api/oauth";

const stateMac = (state: string, key: Buffer) =>
  createHmac("sha256", key).update(`oauth-state:${state}`).digest("base64url");

/** The Set-Cookie header binding `state` to the browser that starts the install. */
export function stateCookie(state: string): string {
  return `${STATE_COOKIE}=${stateMac(state, derivedKey("oauth-state"))}; ${cookieAttributes(STATE_TTL_S)}`;
}

/** The Set-Cookie header that removes it (the callback spends it, whatever the outcome). */
export function clearedStateCookie(): string {
  return `${STATE_COOKIE}=; ${cookieAttributes(0)}`;
}

/** Whether the request's cookie is the one set for this state (constant time; any configured key). */
export function stateMatchesBrowser(state: string, cookieHeader: string | null): boolean {
  const presented = cookieValue(cookieHeader, STATE_COOKIE);
  if (!presented) return false;
  return derivedKeys("oauth-state")
    .map((k) => safeEqual(stateMac(state, k), presented))
    .includes(true);
}

function cookieAttributes(maxAge: number): string {
  const secure = new URL(env().APP_URL).protocol === "https:";
  return `Path=${STATE_COOKIE_PATH}; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure ? "; Secure" : ""}`;
}

function cookieValue(header: string | null, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

export const redirectUri = () => `${env().APP_URL.replace(/\/+$/, "")}/api/oauth/callback`;

export function authorizeUrl(state: string): string {
  const e = env();
  const u = new URL("/v2/oauth/chooselocation", e.GHL_MARKETPLACE_URL);
  u.search = new URLSearchParams({
    response_type: "code",
    client_id: e.GHL_CLIENT_ID,
    redirect_uri: redirectUri(),
    scope: e.GHL_SCOPES,
    state,
  }).toString();
  return u.toString();
}

export function exchangeCode(code: string): Promise<TokenResponse> {
  return tokenCall({ grant_type: "authorization_code", code, user_type: "Location", redirect_uri: redirectUri() });
}

export function refreshGrant(refreshToken: string, userType: "Company" | "Location"): Promise<TokenResponse> {
  return tokenCall({ grant_type: "refresh_token", refresh_token: refreshToken, user_type: userType });
}

/** POST /oauth/locationToken with the Company token (Version 2021-07-28). */
export async function mintLocationToken(
  companyAccessToken: string,
  companyId: string,
  locationId: string,
): Promise<TokenResponse> {
  const res = await fetch(new URL("/oauth/locationToken", env().GHL_API_BASE_URL), {
    method: "POST",
    headers: {
      authorization: `Bearer ${companyAccessToken}`,
      version: "2021-07-28",
      accept: "application/json",
      "content-type": "application/x-www-form-urlencoded",
    },
    body: new URLSearchParams({ companyId, locationId }),
    signal: AbortSignal.timeout(20_000),
  });
  return parseTokenResponse(res);
}

async function tokenCall(fields: Record<string, string>): Promise<TokenResponse> {
  const e = env();
  const res = await fetch(new URL("/oauth/token", e.GHL_API_BASE_URL), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
    body: new URLSearchParams({ client_id: e.GHL_CLIENT_ID, client_secret: e.GHL_CLIENT_SECRET, ...fields }),
    signal: AbortSignal.timeout(20_000),
  });
  return parseTokenResponse(res);
}

async function parseTokenResponse(res: Response): Promise<TokenResponse> {
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (!res.ok) {
    const error = typeof body.error === "string" ? body.error : `http_${res.status}`;
    const msg =
      typeof body.error_description === "string" ? body.error_description : String(body.message ?? res.statusText);
    // GHL's oauth2-server says invalid_grant in `error`, sometimes only in the message
    const code = /invalid.grant/i.test(`${error} ${msg}`) ? "invalid_grant" : error;
    throw new OAuthError(res.status, code, msg);
  }
  return tokenResponseSchema.parse(body);
}
