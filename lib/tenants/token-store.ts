import { audit } from "../audit";
import { open, seal } from "../crypto";
import type { Db } from "../db";

// Token pairs of companies and locations, sealed with lib/crypto.ts. The AAD names the row and the
// column, so a ciphertext copied to another tenant (or swapped between access/refresh) won't open.
export type TenantKind = "company" | "location";
export type TokenPair = { accessToken: string; refreshToken: string | null; expiresAt: Date; scopes?: string | null };

const aad = (kind: TenantKind, id: string, col: "access" | "refresh") => `${kind}:${id}:${col}`;

export function sealPair(kind: TenantKind, id: string, p: TokenPair) {
  return {
    accessTokenEnc: seal(p.accessToken, aad(kind, id, "access")),
    refreshTokenEnc: p.refreshToken ? seal(p.refreshToken, aad(kind, id, "refresh")) : null,
    tokenExpiresAt: p.expiresAt,
    ...(p.scopes !== undefined ? { scopes: p.scopes } : {}),
  };
}

export async function loadPair(db: Db, kind: TenantKind, id: string): Promise<TokenPair | null> {
  const row =
    kind === "company"
      ? await db.company.findUnique({
          where: { id },
          select: { accessTokenEnc: true, refreshTokenEnc: true, tokenExpiresAt: true, installed: true },
        })
      : await db.location.findUnique({
          where: { id },
          select: { accessTokenEnc: true, refreshTokenEnc: true, tokenExpiresAt: true, installed: true },
        });
  if (!row || !row.installed || !row.accessTokenEnc || !row.tokenExpiresAt) return null;
  return {
    accessToken: open(row.accessTokenEnc, aad(kind, id, "access")),
    refreshToken: row.refreshTokenEnc ? open(row.refreshTokenEnc, aad(kind, id, "refresh")) : null,
    expiresAt: row.tokenExpiresAt,
  };
}

/**
 * Compare-and-swap on the stored expiry: only the refresher that saw the current pair may replace
 * it. Returns false when someone else replaced it first (the caller then re-reads).
 */
export async function swapPair(
  db: Db,
  kind: TenantKind,
  id: string,
  seenExpiry: Date,
  next: TokenPair,
): Promise<boolean> {
  const data = sealPair(kind, id, next);
  const where = { id, tokenExpiresAt: seenExpiry, installed: true };
  const r =
    kind === "company" ? await db.company.updateMany({ where, data }) : await db.location.updateMany({ where, data });
  return r.count === 1;
}

export async function markNeedsReinstall(db: Db, kind: TenantKind, id: string): Promise<void> {
  if (kind === "location") {
    await db.location.updateMany({ where: { id }, data: { needsReinstall: true } });
  } else {
    // a dead Company token cannot mint tokens for later installs: its locations must be reinstalled
    await db.location.updateMany({ where: { companyId: id, accessTokenEnc: null }, data: { needsReinstall: true } });
  }
  await audit(
    db,
    { ...(kind === "location" ? { locationId: id } : { companyId: id }), actor: "ghl" },
    "tokens.invalid_grant",
  );
}

export const expiryFrom = (expiresInSeconds: number, now = Date.now()) => new Date(now + expiresInSeconds * 1000);
