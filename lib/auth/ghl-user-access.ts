import { createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { z } from "zod";
import { type Db, db as defaultDb } from "../db";
import { env } from "../env";
import { AppError } from "../errors";
import { GhlApiError, type GhlClient, ghlClient, ghlCompanyClient } from "../ghl/client";
import { childLogger } from "../log";
import { redis as defaultRedis } from "../redis";

// What a panel user may do is GHL's answer, not the SSO payload's (docs/ghl.md#panel-and-sso): the payload
// is minted once per handshake, while roles and sub-account access change in GHL's settings. So
// GET /users/{userId} (users.readonly; openapi/users.json UserSuccessfulResponseDto) is asked, and
// its answer reused for PANEL_ROLE_CACHE_S.

export const ghlUserSchema = z.object({
  id: z.string().optional(),
  roles: z.object({
    type: z.enum(["agency", "account"]),
    role: z.enum(["admin", "user"]),
    locationIds: z.array(z.string()).default([]),
    restrictSubAccount: z.boolean().optional(),
  }),
});

export type GrantedAccess = {
  status: "ok";
  type: "agency" | "account";
  role: "admin" | "user";
  locationIds: string[];
  restrictSubAccount: boolean;
};
export type UserAccess =
  | GrantedAccess
  /** GHL does not know the user (deleted), or the tenant's token cannot see them */
  | { status: "gone" }
  /** GHL could not be asked or answered something we do not understand: no decision */
  | { status: "unavailable"; why: string };

export type Who = { userId: string; companyId: string; locationId: string; agency: boolean };
type Deps = { db?: Db; redis?: Redis };

/** May this user open `locationId` (a location of their company — the caller checks that)? */
export function canOpen(a: GrantedAccess, locationId: string): boolean {
  if (a.type === "agency" && a.role === "admin" && !a.restrictSubAccount) return true; // the whole agency
  return a.locationIds.includes(locationId);
}

export const isAdminAt = (a: GrantedAccess, locationId: string) => canOpen(a, locationId) && a.role === "admin";

/**
 * The user's roles as GHL sees them now (at most PANEL_ROLE_CACHE_S old). An agency session asks
 * with the company's token when the company is installed as a whole; a location session with the
 * location's token, which GHL only lets read users who can open that location. An agency session
 * of a company installed location by location asks through its locations' tokens until one sees
 * the user (the roles read are the same whichever token reads them).
 */
export async function userAccess(who: Who, d: Deps = {}): Promise<UserAccess> {
  const db = d.db ?? defaultDb();
  const redis = d.redis ?? defaultRedis();
  const useCompany = who.agency && (await companyHasToken(db, who.companyId));
  const tenant = useCompany || who.agency ? `company:${who.companyId}` : `location:${who.locationId}`;
  const key = roleCacheKey(tenant, who.userId);
  const cached = await redis.get(key).catch(() => null);
  if (cached) {
    const parsed = cachedSchema.safeParse(JSON.parse(cached));
    if (parsed.success) return parsed.data;
  }
  const o = { db, redis, maxRetries: 1, baseDelayMs: 200 };
  let out: UserAccess;
  if (useCompany || !who.agency) {
    out = await ask(useCompany ? ghlCompanyClient(who.companyId, o) : ghlClient(who.locationId, o), who);
  } else {
    const locs = await db.location.findMany({
      where: { companyId: who.companyId, installed: true, uninstalledAt: null },
      select: { id: true },
      orderBy: { id: "asc" },
      take: 10,
    });
    const ids = [who.locationId, ...locs.map((l) => l.id).filter((id) => id !== who.locationId)];
    let unavailable: UserAccess | undefined;
    out = { status: "gone" };
    for (const id of ids) {
      const r = await ask(ghlClient(id, o), who);
      if (r.status === "ok") {
        out = r;
        break;
      }
      if (r.status === "unavailable") unavailable ??= r;
    }
    if (out.status === "gone" && unavailable) out = unavailable;
  }
  // no answer is remembered briefly too, so that a GHL outage (or a missing users.readonly scope) is
  // not asked again by every panel request
  const ttl =
    out.status === "unavailable" ? Math.min(UNAVAILABLE_TTL_S, env().PANEL_ROLE_CACHE_S) : env().PANEL_ROLE_CACHE_S;
  await redis.set(key, JSON.stringify(out), "EX", ttl).catch(() => undefined);
  return out;
}

async function ask(client: GhlClient, who: Who): Promise<UserAccess> {
  const log = childLogger({ locationId: who.locationId, component: "ghl-user-access" });
  try {
    const body = await client<unknown>("GET", `/users/${encodeURIComponent(who.userId)}`);
    const u = ghlUserSchema.safeParse(body);
    if (!u.success) {
      log.warn({ issues: u.error.issues.map((i) => i.path.join(".")) }, "GHL user answer not understood");
      return { status: "unavailable", why: "GHL's user answer has no roles we understand" };
    }
    const r = u.data.roles;
    return {
      status: "ok",
      type: r.type,
      role: r.role,
      locationIds: r.locationIds,
      restrictSubAccount: !!r.restrictSubAccount,
    };
  } catch (err) {
    if (err instanceof GhlApiError && [400, 403, 404].includes(err.httpStatus)) return { status: "gone" };
    const why =
      err instanceof GhlApiError
        ? `GHL answered ${err.httpStatus}`
        : err instanceof AppError
          ? err.code
          : "GHL unreachable";
    log.warn(
      { why, err: err instanceof Error ? err.message : String(err) },
      "could not read the panel user's roles from GHL",
    );
    return { status: "unavailable", why };
  }
}

const UNAVAILABLE_TTL_S = 10;
const cachedSchema = z.union([
  z.object({ status: z.literal("unavailable"), why: z.string() }),
  z.object({
    status: z.literal("ok"),
    type: z.enum(["agency", "account"]),
    role: z.enum(["admin", "user"]),
    locationIds: z.array(z.string()),
    restrictSubAccount: z.boolean(),
  }),
  z.object({ status: z.literal("gone") }),
]);

async function companyHasToken(db: Db, companyId: string): Promise<boolean> {
  const c = await db.company.findUnique({
    where: { id: companyId },
    select: { installed: true, accessTokenEnc: true },
  });
  return !!c?.installed && !!c.accessTokenEnc;
}

/** Where GHL's answer about a user is remembered: `tenant` is `location:<id>` or `company:<id>`. */
export const roleCacheKey = (tenant: string, userId: string) => `gw:panel:ghl-user:${tenant}:${hash(userId)}`;

const hash = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 32);
