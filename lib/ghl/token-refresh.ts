import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import type { Db } from "../db";
import { AppError } from "../errors";
import { childLogger } from "../log";
import { deleteIfEquals } from "../redis-script";
import {
  expiryFrom,
  loadPair,
  markNeedsReinstall,
  sealPair,
  swapPair,
  type TenantKind,
  type TokenPair,
} from "../tenants/token-store";
import { mintLocationToken, OAuthError, refreshGrant, type TokenResponse } from "./oauth";

// Refresh tokens are single use (docs/ghl.md#tokens-and-refresh): two refreshes of one tenant at once would burn
// one pair. So a refresh runs under a Redis lock shared by every app and worker process, and stores
// its result with a compare-and-swap on the expiry it started from; whoever loses the lock waits for
// the winner's pair instead of refreshing again.

export const REFRESH_AHEAD_MS = 5 * 60 * 1000;
const LOCK_TTL_MS = 30_000;
const WAIT_MS = 25_000;
const lockKey = (kind: TenantKind, id: string) => `gw:ghl:refresh:${kind}:${id}`;

export const needsReinstall = (what: string) =>
  new AppError(
    "needs_reinstall",
    `${what}: GHL no longer accepts this app's tokens; reinstall the app from the Marketplace`,
  );
export const notInstalled = (what: string) => new AppError("not_installed", `${what} has no installed GHL tokens`);

export type Deps = { db: Db; redis: Redis };

/** A usable access token: the stored one, or a fresh one if it is about to expire. */
export async function validAccessToken(d: Deps, kind: TenantKind, id: string, now = Date.now()): Promise<TokenPair> {
  const hit = recentPairs(d.db).get(`${kind}:${id}`);
  if (hit && hit.until > now && hit.pair.expiresAt.getTime() - now > REFRESH_AHEAD_MS) return hit.pair;
  let pair = await loadPair(d.db, kind, id);
  if (!pair && kind === "location") pair = await mintMissing(d, id);
  if (!pair) throw notInstalled(`${kind} ${id}`);
  if (pair.expiresAt.getTime() - now > REFRESH_AHEAD_MS) return remember(d.db, kind, id, pair);
  return refreshTenant(d, kind, id, pair.expiresAt);
}

// Every GHL call needs the tenant's access token: the pair read last is reused for REUSE_MS
// instead of a Postgres read and a decryption per call (the inbound path makes one call per
// message). A pair another process refreshed meanwhile is not missed for long: the old access
// token stays valid until it expires (it is reused only while more than REFRESH_AHEAD_MS remain),
// and a 401 refreshes, which re-reads the stored pair first.
const REUSE_MS = 30_000;
const recent = new WeakMap<Db, Map<string, { until: number; pair: TokenPair }>>();
function recentPairs(db: Db) {
  let m = recent.get(db);
  if (!m) recent.set(db, (m = new Map()));
  return m;
}
function remember(db: Db, kind: TenantKind, id: string, pair: TokenPair): TokenPair {
  const m = recentPairs(db);
  if (m.size >= 10_000) m.delete(m.keys().next().value as string);
  m.set(`${kind}:${id}`, { until: Date.now() + REUSE_MS, pair });
  return pair;
}
/** Drops the reused pair (the tenant's tokens were deleted or replaced in this process). */
export function forgetAccessToken(db: Db, kind: TenantKind, id: string) {
  recent.get(db)?.delete(`${kind}:${id}`);
}

/**
 * Replaces the pair whose expiry was `seenExpiry`. If another process already replaced it, returns
 * theirs. Throws needs_reinstall on invalid_grant (and marks the tenant).
 */
export async function refreshTenant(d: Deps, kind: TenantKind, id: string, seenExpiry: Date): Promise<TokenPair> {
  forgetAccessToken(d.db, kind, id);
  return remember(d.db, kind, id, await refreshUnderLock(d, kind, id, seenExpiry));
}

async function refreshUnderLock(d: Deps, kind: TenantKind, id: string, seenExpiry: Date): Promise<TokenPair> {
  const log = childLogger({ [kind === "location" ? "locationId" : "companyId"]: id });
  const me = randomBytes(12).toString("hex");
  const deadline = Date.now() + WAIT_MS;
  while (Date.now() < deadline) {
    const current = await loadPair(d.db, kind, id);
    if (!current) throw notInstalled(`${kind} ${id}`);
    if (current.expiresAt.getTime() !== seenExpiry.getTime()) return current; // someone refreshed
    if ((await d.redis.set(lockKey(kind, id), me, "PX", LOCK_TTL_MS, "NX")) === "OK") {
      try {
        // re-read under the lock: the previous holder may have finished between our read and SET
        const fresh = await loadPair(d.db, kind, id);
        if (!fresh) throw notInstalled(`${kind} ${id}`);
        if (fresh.expiresAt.getTime() !== seenExpiry.getTime()) return fresh;
        const next = await obtainNewPair(d, kind, id, fresh);
        if (await swapPair(d.db, kind, id, seenExpiry, next)) {
          log.info({ expiresAt: next.expiresAt }, "GHL tokens refreshed");
          return next;
        }
        // lost the CAS despite the lock (lock expired mid-call): the stored pair is the newer one
        const stored = await loadPair(d.db, kind, id);
        if (stored) return stored;
        throw notInstalled(`${kind} ${id}`);
      } finally {
        await releaseLock(d.redis, lockKey(kind, id), me);
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new AppError("unavailable", "timed out waiting for another process to refresh GHL tokens");
}

async function obtainNewPair(d: Deps, kind: TenantKind, id: string, cur: TokenPair): Promise<TokenPair> {
  try {
    if (cur.refreshToken) {
      const r = await refreshGrant(cur.refreshToken, kind === "company" ? "Company" : "Location");
      return pairFrom(r);
    }
    // a minted Location token without a refresh token is renewed by minting again
    return await mintFromCompany(d, id);
  } catch (err) {
    if (err instanceof OAuthError && err.invalidGrant) {
      await markNeedsReinstall(d.db, kind, id);
      throw needsReinstall(`${kind} ${id}`);
    }
    throw err;
  }
}

/** A Location token from the company's token (bulk installs; INSTALL webhooks of later locations). */
export async function mintFromCompany(d: Deps, locationId: string): Promise<TokenPair> {
  const loc = await d.db.location.findUnique({
    where: { id: locationId },
    select: { companyId: true, installed: true },
  });
  if (!loc?.companyId || !loc.installed) throw notInstalled(`location ${locationId}`);
  const company = await validAccessToken(d, "company", loc.companyId);
  try {
    return pairFrom(await mintLocationToken(company.accessToken, loc.companyId, locationId));
  } catch (err) {
    if (err instanceof OAuthError && (err.status === 400 || err.status === 403))
      throw notInstalled(`location ${locationId}`);
    throw err;
  }
}

async function mintMissing(d: Deps, locationId: string): Promise<TokenPair | null> {
  const loc = await d.db.location.findUnique({
    where: { id: locationId },
    select: { companyId: true, installed: true },
  });
  if (!loc?.companyId || !loc.installed) return null;
  const co = await d.db.company.findUnique({
    where: { id: loc.companyId },
    select: { accessTokenEnc: true, installed: true },
  });
  if (!co?.accessTokenEnc || !co.installed) return null;
  const pair = await mintFromCompany(d, locationId);
  // only fill an empty slot: a concurrent minter's pair is as good as ours
  await d.db.location.updateMany({
    where: { id: locationId, accessTokenEnc: null },
    data: { ...sealPair("location", locationId, pair), needsReinstall: false },
  });
  return loadPair(d.db, "location", locationId);
}

export function pairFrom(r: TokenResponse): TokenPair {
  return {
    accessToken: r.access_token,
    refreshToken: r.refresh_token ?? null,
    expiresAt: expiryFrom(r.expires_in),
    scopes: r.scope ?? null,
  };
}

async function releaseLock(redis: Redis, key: string, me: string) {
  await deleteIfEquals(redis, key, me).catch(() => {});
}
