import { randomBytes } from "node:crypto";
import { audit } from "../audit";
import { sha256Hex } from "../crypto";
import type { Db } from "../db";
import { notFound } from "../errors";

// API keys for the direct API: shown once, stored as SHA-256 (looked up by value, so hashed, not
// encrypted), recognisable by a visible prefix, scoped to one location.
const KEY_RE = /^gwk_([a-z0-9]{8})_([A-Za-z0-9_-]{43})$/;

export type CreatedApiKey = { id: string; key: string; prefix: string; label: string; createdAt: Date };

export async function createApiKey(db: Db, locationId: string, label: string, actor = "panel"): Promise<CreatedApiKey> {
  const prefix = randomBytes(6)
    .toString("base64url")
    .toLowerCase()
    .replace(/[^a-z0-9]/g, "0")
    .slice(0, 8);
  const key = `gwk_${prefix}_${randomBytes(32).toString("base64url")}`;
  const row = await db.apiKey.create({
    data: { locationId, label: label.trim() || "API key", prefix, hash: sha256Hex(key) },
  });
  await audit(db, { locationId, actor }, "api_key.created", { id: row.id, prefix });
  return { id: row.id, key, prefix, label: row.label, createdAt: row.createdAt };
}

export async function listApiKeys(db: Db, locationId: string) {
  return db.apiKey.findMany({
    where: { locationId, revokedAt: null },
    select: { id: true, prefix: true, label: true, lastUsedAt: true, createdAt: true },
    orderBy: { createdAt: "desc" },
  });
}

export async function revokeApiKey(db: Db, locationId: string, id: string, actor = "panel") {
  const r = await db.apiKey.updateMany({ where: { id, locationId, revokedAt: null }, data: { revokedAt: new Date() } });
  if (r.count === 0) throw notFound("no such API key");
  await audit(db, { locationId, actor }, "api_key.revoked", { id });
}

/** Resolves a presented key to its location, or null. Installed, not-uninstalled locations only. */
export async function authenticateApiKey(
  db: Db,
  presented: string,
): Promise<{ locationId: string; keyId: string } | null> {
  if (!KEY_RE.test(presented)) return null;
  const row = await db.apiKey.findUnique({
    where: { hash: sha256Hex(presented) },
    select: {
      id: true,
      locationId: true,
      revokedAt: true,
      lastUsedAt: true,
      location: { select: { installed: true } },
    },
  });
  if (!row || row.revokedAt || !row.location.installed) return null;
  // "last used" to the minute is enough; avoid a write per request
  if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > 60_000) {
    await db.apiKey.update({ where: { id: row.id }, data: { lastUsedAt: new Date() } }).catch(() => {});
  }
  return { locationId: row.locationId, keyId: row.id };
}

export function presentedKey(headers: Headers): string | null {
  const x = headers.get("x-api-key");
  if (x) return x.trim();
  const auth = headers.get("authorization");
  const m = auth?.match(/^Bearer\s+(\S+)$/i);
  return m ? m[1] : null;
}
