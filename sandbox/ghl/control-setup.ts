import { z } from "zod";
import type { ControlRoute } from "./control-kit";
import { createCompany, createLocation } from "./directory";
import { fingerprint, mask } from "./ids";
import { installLocation } from "./installs";
import type { Sim } from "./sim";
import { grantsFor, refreshValid } from "./tokens";

const id20 = z.string().regex(/^[A-Za-z0-9]{1,40}$/);
const where = z.union([z.object({ locationId: z.string() }), z.object({ companyId: z.string() })]);

export function publicConfig(sim: Sim) {
  const c = sim.cfg;
  return {
    url: c.url,
    clientId: c.clientId,
    appId: c.appId,
    publicKeys: c.publicKeys,
    webhookUrl: c.webhookUrl,
    deliveryUrl: c.deliveryUrl,
    panelUrl: c.panelUrl,
    providerMode: c.providerMode,
    conversationProviderId: c.conversationProviderId,
    accessTokenTtlSeconds: c.accessTokenTtlSeconds,
    rateLimit: c.rateLimit,
    providerRaceMs: c.providerRaceMs,
    locationTokenRefreshToken: c.locationTokenRefreshToken,
    webhookRetryDelayMs: c.webhookRetryDelayMs,
    webhookMaxRetries: c.webhookMaxRetries,
  };
}

export const setupRoutes: ControlRoute[] = [
  ["GET", "/__sandbox/health", ({ sim, json }) => json(200, { ok: true, ...publicConfig(sim) })],
  // The secrets too: this is a sandbox, and a test or the launcher may need to configure the app from it.
  [
    "GET",
    "/__sandbox/config",
    ({ sim, json }) => json(200, { ...publicConfig(sim), clientSecret: sim.cfg.clientSecret, ssoKey: sim.cfg.ssoKey }),
  ],
  [
    "POST",
    "/__sandbox/reset",
    async (c) => {
      const b = await c.body(z.object({ seed: z.boolean().optional() }));
      if (!b) return;
      c.sim.reset(b.seed);
      c.json(200, { ok: true });
    },
  ],
  ["GET", "/__sandbox/companies", ({ sim, json }) => json(200, { companies: [...sim.state.companies.values()] })],
  [
    "POST",
    "/__sandbox/companies",
    async (c) => {
      const b = await c.body(z.object({ id: id20.optional(), name: z.string().min(1) }));
      if (!b) return;
      if (b.id && c.sim.state.companies.has(b.id))
        return c.json(409, { error: { code: "exists", message: "company exists" } });
      c.json(201, createCompany(c.sim.state, b));
    },
  ],
  [
    "GET",
    "/__sandbox/locations",
    ({ sim, json }) =>
      json(200, {
        locations: [...sim.state.locations.values()].map((l) => ({
          ...l,
          installed: sim.state.locationInstalls.has(l.id),
        })),
      }),
  ],
  [
    "POST",
    "/__sandbox/locations",
    async (c) => {
      const b = await c.body(
        z.object({
          id: id20.optional(),
          name: z.string().min(1),
          companyId: z.string(),
          address: z.string().optional(),
        }),
      );
      if (!b) return;
      const s = c.sim.state;
      if (!s.companies.has(b.companyId))
        return c.json(404, { error: { code: "not_found", message: "unknown companyId" } });
      if (b.id && s.locations.has(b.id)) return c.json(409, { error: { code: "exists", message: "location exists" } });
      const loc = createLocation(s, b);
      // A bulk install with "future locations" installs itself on new locations and sends INSTALL.
      const ci = s.companyInstalls.get(b.companyId);
      if (ci?.installToFutureLocations) {
        ci.approvedLocations.push(loc.id);
        installLocation(c.sim, loc.id, { via: "future", scopes: ci.scopes, webhook: true });
      }
      c.json(201, loc);
    },
  ],
  // Someone renames (or edits) a sub-account in GHL: GHL's LocationUpdate goes to every app
  // installed on it, the location itself or its whole agency; `GET /locations/{id}` answers the
  // new name from then on. Without an install, nothing is sent (deliveryStatus null).
  [
    "POST",
    "/__sandbox/locations/:locationId/update",
    async (c) => {
      const b = await c.body(z.object({ name: z.string().min(1).optional(), email: z.string().optional() }));
      if (!b) return;
      const s = c.sim.state;
      const loc = s.locations.get(c.params.locationId);
      if (!loc) return c.json(404, { error: { code: "not_found", message: "unknown location" } });
      if (b.name) loc.name = b.name;
      const installed = s.locationInstalls.has(loc.id) || s.companyInstalls.has(loc.companyId);
      if (!installed) return c.json(200, { location: loc, webhook: null, deliveryStatus: null });
      const rec = await c.sim.webhooks.sendEvent("LocationUpdate", {
        id: loc.id,
        companyId: loc.companyId,
        name: loc.name,
        email: b.email ?? `${loc.id.toLowerCase()}@example.com`,
        stripeProductId: "prod_sandbox",
      });
      c.json(200, { location: loc, webhook: rec.body, deliveryStatus: rec.attempts[0]?.status ?? null });
    },
  ],
  ["GET", "/__sandbox/users", ({ sim, json }) => json(200, { users: [...sim.state.users.values()] })],
  [
    "GET",
    "/__sandbox/installs",
    ({ sim, json }) =>
      json(200, {
        companies: [...sim.state.companyInstalls.values()],
        locations: [...sim.state.locationInstalls.values()],
      }),
  ],
  ["GET", "/__sandbox/settings", ({ sim, json }) => json(200, publicConfig(sim))],
  [
    "POST",
    "/__sandbox/settings",
    async (c) => {
      const b = await c.body(
        z.object({
          providerMode: z.enum(["sms", "custom"]).optional(),
          conversationProviderId: z.string().min(1).optional(),
          providerRaceMs: z.number().int().min(0).optional(),
          webhookUrl: z.url().optional(),
          deliveryUrl: z.url().optional(),
          panelUrl: z.url().optional(),
          accessTokenTtlSeconds: z.number().int().positive().optional(),
          locationTokenRefreshToken: z.boolean().optional(),
          // GHL's retry interval, shortened for tests; the number of retries is GHL's and stays
          webhookRetryDelayMs: z.number().int().min(1).optional(),
          rateLimit: z
            .object({
              max: z.number().int().positive(),
              intervalMs: z.number().int().positive(),
              daily: z.number().int().positive().optional(),
            })
            .optional(),
        }),
      );
      if (!b) return;
      const { rateLimit, ...rest } = b;
      Object.assign(c.sim.cfg, rest);
      if (rateLimit) c.sim.cfg.rateLimit = { ...c.sim.cfg.rateLimit, ...rateLimit };
      c.json(200, publicConfig(c.sim));
    },
  ],
  ["GET", "/__sandbox/faults", ({ sim, json }) => json(200, { faults: sim.state.faults })],
  ["DELETE", "/__sandbox/faults", ({ sim, json }) => ((sim.state.faults = []), json(200, { ok: true }))],
  [
    "POST",
    "/__sandbox/faults",
    async (c) => {
      const b = await c.body(
        z
          .object({
            path: z.string().startsWith("/"),
            status: z.number().int().min(400).max(599).optional(),
            times: z.number().int().positive().default(1),
            delayMs: z.number().int().min(0).default(0),
            method: z.string().optional(),
            locationId: z.string().optional(),
            message: z.string().optional(),
          })
          .refine((x) => x.status !== undefined || x.delayMs > 0, "status or delayMs is required"),
      );
      if (!b) return;
      const fault = {
        id: `f${c.sim.state.faults.length + 1}-${Date.now()}`,
        path: b.path,
        method: b.method,
        locationId: b.locationId,
        status: b.status,
        remaining: b.times,
        delayMs: b.delayMs,
        message: b.message,
      };
      c.sim.state.faults.push(fault);
      c.json(201, fault);
    },
  ],
  [
    "GET",
    "/__sandbox/tokens",
    (c) => {
      const q = Object.fromEntries(c.url.searchParams);
      if (!q.locationId && !q.companyId)
        return c.json(400, { error: { code: "bad_input", message: "locationId or companyId" } });
      const now = Date.now();
      const tokens = grantsFor(c.sim.state, q).map((g) => ({
        userType: g.userType,
        companyId: g.companyId,
        locationId: g.locationId,
        via: g.via,
        issuedAt: new Date(g.issuedAt).toISOString(),
        accessToken: mask(g.accessToken),
        accessFingerprint: fingerprint(g.accessToken),
        refreshToken: mask(g.refreshToken),
        refreshFingerprint: fingerprint(g.refreshToken),
        accessValid: !g.revokedAt && g.accessExpiresAt > now,
        accessExpiresAt: new Date(g.accessExpiresAt).toISOString(),
        refreshValid: refreshValid(g),
        refreshUsedAt: g.refreshUsedAt ? new Date(g.refreshUsedAt).toISOString() : undefined,
        revoked: !!g.revokedAt,
      }));
      // "Valid pair": its refresh token can still be used; a healthy tenant has exactly one.
      c.json(200, {
        tokens,
        validPairs: tokens.filter((t) => t.refreshValid).length,
        validAccessTokens: tokens.filter((t) => t.accessValid).length,
      });
    },
  ],
  [
    "POST",
    "/__sandbox/tokens/expire",
    async (c) => {
      // all of a tenant's live access tokens, or only the one given (an older pair another process replaced)
      const b = await c.body(z.intersection(where, z.object({ accessToken: z.string().optional() })));
      if (!b) return;
      let n = 0;
      for (const g of grantsFor(c.sim.state, b)) {
        if (b.accessToken && g.accessToken !== b.accessToken) continue;
        if (!g.revokedAt && g.accessExpiresAt > Date.now()) {
          g.accessExpiresAt = Date.now() - 1;
          n++;
        }
      }
      c.json(200, { expired: n });
    },
  ],
];
