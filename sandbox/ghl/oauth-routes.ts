import type { ApiCtx, ApiRoute } from "./api-pipeline";
import type { TokenGrant } from "./state";
import { issueGrant, rotate } from "./tokens";

function tokenResponse(ctx: ApiCtx, g: TokenGrant): Record<string, unknown> {
  const s = ctx.sim.state;
  const base = {
    access_token: g.accessToken,
    token_type: "Bearer",
    expires_in: ctx.sim.cfg.accessTokenTtlSeconds,
    refresh_token: g.refreshToken,
    scope: g.scopes.join(" "),
    userType: g.userType,
    companyId: g.companyId,
    userId: g.userId,
  };
  if (g.userType === "Location") return { ...base, locationId: g.locationId, isBulkInstallation: false };
  const ci = s.companyInstalls.get(g.companyId);
  return {
    ...base,
    isBulkInstallation: true,
    approvedLocations: ci?.approvedLocations ?? [],
    installToFutureLocations: ci?.installToFutureLocations ?? false,
    approveAllLocations: ci ? ci.approvedLocations.length === s.locationsOf(g.companyId).length : false,
  };
}

// GHL's token endpoint speaks node-oauth2-server (its 401 text "Invalid token: access token is invalid"
// is that library's): grant errors are 400 with the OAuth `error` code, wrapped in the NestJS shape.
function oauthError(ctx: ApiCtx, error: string, description: string): void {
  ctx.reply(400, { statusCode: 400, message: description, error, error_description: description });
}

function invalidGrant(ctx: ApiCtx, description: string): void {
  oauthError(ctx, "invalid_grant", description);
}

const token: ApiRoute = {
  auth: "none",
  handle(ctx) {
    const { sim, body } = ctx;
    const b = body as Record<string, string>;
    if (b.client_id !== sim.cfg.clientId || b.client_secret !== sim.cfg.clientSecret) {
      return oauthError(ctx, "invalid_client", "Invalid client: client is invalid");
    }
    if (b.grant_type === "refresh_token") {
      if (!b.refresh_token) return ctx.fail(422, ["refresh_token should not be empty"]);
      const r = rotate(sim.state, sim.cfg, b.refresh_token);
      if (!r.ok) return invalidGrant(ctx, r.reason);
      ctx.locationId = r.grant.locationId;
      return ctx.reply(200, tokenResponse(ctx, r.grant));
    }
    if (b.grant_type !== "authorization_code") {
      return oauthError(ctx, "unsupported_grant_type", "Unsupported grant type: `grant_type` is invalid");
    }
    const code = b.code ? sim.state.codes.get(b.code) : undefined;
    // Codes are single use and short lived; a second exchange is the classic double-callback bug.
    if (!code || code.usedAt || code.clientId !== b.client_id)
      return invalidGrant(ctx, "Invalid grant: authorization code is invalid");
    if (code.expiresAt <= Date.now()) return invalidGrant(ctx, "Invalid grant: authorization code has expired");
    if (b.redirect_uri && b.redirect_uri !== code.redirectUri)
      return invalidGrant(ctx, "Invalid request: `redirect_uri` is invalid");
    code.usedAt = Date.now();
    // The install decides the token type (bulk → Company), whatever user_type the app asked for.
    const g = issueGrant(sim.state, sim.cfg, {
      userType: code.userType,
      companyId: code.companyId,
      locationId: code.locationId,
      scopes: code.scopes,
      userId: code.userId,
      via: "authorization_code",
    });
    ctx.locationId = g.locationId;
    ctx.reply(200, tokenResponse(ctx, g));
  },
};

const locationToken: ApiRoute = {
  auth: "Company",
  handle(ctx) {
    const { sim, grant } = ctx;
    const b = ctx.body as Record<string, string>;
    ctx.locationId = b.locationId;
    if (b.companyId !== grant!.companyId) return ctx.fail(403, "The token does not have access to this company.");
    const loc = sim.state.locations.get(b.locationId);
    if (!loc || loc.companyId !== b.companyId) return ctx.fail(400, "Location not found");
    if (!sim.state.locationInstalls.has(loc.id)) return ctx.fail(400, "This app is not installed in this location");
    const g = issueGrant(sim.state, sim.cfg, {
      userType: "Location",
      companyId: loc.companyId,
      locationId: loc.id,
      scopes: grant!.scopes,
      userId: grant!.userId,
      via: "locationToken",
    });
    // refresh_token is not in the schema; integrators see it in practice but treat it as optional
    // (falling back to re-minting with the Company token), so it can be switched off.
    ctx.reply(200, {
      access_token: g.accessToken,
      token_type: "Bearer",
      expires_in: sim.cfg.accessTokenTtlSeconds,
      ...(sim.cfg.locationTokenRefreshToken ? { refresh_token: g.refreshToken } : {}),
      scope: g.scopes.join(" "),
      userType: "Location",
      companyId: g.companyId,
      locationId: g.locationId,
      userId: g.userId,
      appId: sim.cfg.appId,
      versionId: sim.cfg.versionId,
    });
  },
};

const installedLocations: ApiRoute = {
  auth: "Company",
  handle(ctx) {
    const { sim, grant, query } = ctx;
    if (query.companyId !== grant!.companyId) return ctx.fail(403, "The token does not have access to this company.");
    if (query.appId !== sim.cfg.appId) return ctx.fail(400, "Invalid appId");
    const skip = Number(query.skip ?? 0) || 0;
    const limit = Number(query.limit ?? 20) || 20;
    let all = sim.state.locationsOf(query.companyId).map((l) => {
      const inst = sim.state.locationInstalls.get(l.id);
      return {
        _id: l.id,
        name: l.name,
        address: l.address,
        isInstalled: !!inst,
        ...(inst ? { installedAt: inst.installedAt } : {}),
      };
    });
    if (query.isInstalled !== undefined) all = all.filter((l) => l.isInstalled === (query.isInstalled === "true"));
    if (query.locationId) all = all.filter((l) => l._id === query.locationId);
    if (query.query) all = all.filter((l) => l.name.toLowerCase().includes(query.query.toLowerCase()));
    ctx.reply(200, {
      locations: all.slice(skip, skip + limit),
      count: all.length,
      installToFutureLocations: sim.state.companyInstalls.get(query.companyId)?.installToFutureLocations ?? false,
    });
  },
};

export const oauthRoutes: Record<string, ApiRoute> = {
  "get-access-token": token,
  "get-location-access-token": locationToken,
  "get-installed-location": installedLocations,
};
