import { createHmac, randomBytes, randomUUID } from "node:crypto";
import type { GhlSimulatorConfig } from "./config";
import type { SimState, TokenGrant } from "./state";

// GHL access and refresh tokens are JWTs; the app must treat them as opaque, so any signature works.
const JWT_SECRET = randomBytes(32);

function jwt(payload: Record<string, unknown>): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const head = `${b64({ alg: "HS256", typ: "JWT" })}.${b64(payload)}`;
  return `${head}.${createHmac("sha256", JWT_SECRET).update(head).digest("base64url")}`;
}

export function issueGrant(
  state: SimState,
  cfg: GhlSimulatorConfig,
  g: Pick<TokenGrant, "userType" | "companyId" | "locationId" | "scopes" | "userId" | "via">,
): TokenGrant {
  const now = Date.now();
  const iat = Math.floor(now / 1000);
  const claims = {
    authClass: g.userType,
    authClassId: g.userType === "Location" ? g.locationId : g.companyId,
    source: "INTEGRATION",
    sourceId: cfg.clientId,
    channel: "OAUTH",
    primaryAuthClassId: g.locationId ?? g.companyId,
    oauthMeta: { scopes: g.scopes, client: cfg.appId, versionId: cfg.versionId, clientKey: cfg.clientId },
    iat,
  };
  const grant: TokenGrant = {
    ...g,
    id: randomUUID(),
    accessToken: jwt({ ...claims, exp: iat + cfg.accessTokenTtlSeconds, jti: randomUUID() }),
    refreshToken: jwt({ ...claims, exp: iat + cfg.refreshTokenTtlSeconds, jti: randomUUID(), type: "refresh" }),
    issuedAt: now,
    accessExpiresAt: now + cfg.accessTokenTtlSeconds * 1000,
    refreshExpiresAt: now + cfg.refreshTokenTtlSeconds * 1000,
  };
  state.grants.push(grant);
  return grant;
}

export function findAccess(state: SimState, token: string): TokenGrant | undefined {
  const g = state.grants.find((x) => x.accessToken === token);
  if (!g || g.revokedAt || g.accessExpiresAt <= Date.now()) return undefined;
  return g;
}

export type RefreshOutcome = { ok: true; grant: TokenGrant } | { ok: false; reason: string };

// Refresh tokens are single use: the old one dies the moment the new pair is issued.
export function rotate(state: SimState, cfg: GhlSimulatorConfig, refreshToken: string): RefreshOutcome {
  const old = state.grants.find((x) => x.refreshToken === refreshToken);
  if (!old || old.refreshUsedAt || old.revokedAt)
    return { ok: false, reason: "Invalid grant: refresh token is invalid" };
  if (old.refreshExpiresAt <= Date.now()) return { ok: false, reason: "Invalid grant: refresh token has expired" };
  old.refreshUsedAt = Date.now();
  const grant = issueGrant(state, cfg, {
    userType: old.userType,
    companyId: old.companyId,
    locationId: old.locationId,
    scopes: old.scopes,
    userId: old.userId,
    via: "refresh_token",
  });
  return { ok: true, grant };
}

export function revokeFor(state: SimState, where: { locationId?: string; companyId?: string }): number {
  let n = 0;
  for (const g of state.grants) {
    if (g.revokedAt) continue;
    const hit = where.locationId ? g.locationId === where.locationId : g.companyId === where.companyId;
    if (hit) {
      g.revokedAt = Date.now();
      n++;
    }
  }
  return n;
}

export function grantsFor(state: SimState, where: { locationId?: string; companyId?: string }): TokenGrant[] {
  return state.grants.filter((g) =>
    where.locationId ? g.locationId === where.locationId : g.companyId === where.companyId && g.userType === "Company",
  );
}

export function refreshValid(g: TokenGrant): boolean {
  return !g.revokedAt && !g.refreshUsedAt && g.refreshExpiresAt > Date.now();
}
