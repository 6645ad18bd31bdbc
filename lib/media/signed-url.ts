import { createHmac } from "node:crypto";
import { derivedKey, derivedKeys, safeEqual } from "../crypto";

// Media we received from WhatsApp is served to GHL under an expiring, signed URL. GHL turns URLs
// with a query string into 422s, so the expiry and signature live in the path:
//   /api/media/<mediaId>/<expiresUnix>/<signature>/<fileName>

export function signMediaPath(
  mediaId: string,
  fileName: string,
  ttlSeconds = 7 * 24 * 3600,
  now = Date.now(),
  key = derivedKey("media-url"),
): string {
  const expires = Math.floor(now / 1000) + ttlSeconds;
  const safeName = encodeURIComponent(fileName.replace(/[/\\]/g, "_") || "file");
  return `/api/media/${mediaId}/${expires}/${sign(mediaId, expires, key)}/${safeName}`;
}

export type MediaCheck =
  | { ok: true; mediaId: string }
  | { ok: false; reason: "malformed" | "expired" | "bad_signature" };

/** Verifies with the current key or any previous one (ENCRYPTION_KEYS_PREVIOUS): a rotation does not break links GHL holds. */
export function verifyMediaPath(
  mediaId: string,
  expires: string,
  signature: string,
  now = Date.now(),
  keys: Buffer | Buffer[] = derivedKeys("media-url"),
): MediaCheck {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(mediaId) || !/^\d{1,12}$/.test(expires)) return { ok: false, reason: "malformed" };
  const candidates = Array.isArray(keys) ? keys : [keys];
  // every key is tried (no early exit), so the time taken does not say which one matched
  const matched = candidates.map((k) => safeEqual(sign(mediaId, Number(expires), k), signature)).includes(true);
  if (!matched) return { ok: false, reason: "bad_signature" };
  if (Number(expires) * 1000 < now) return { ok: false, reason: "expired" };
  return { ok: true, mediaId };
}

function sign(mediaId: string, expires: number, key: Buffer): string {
  return createHmac("sha256", key).update(`${mediaId}.${expires}`).digest("base64url").slice(0, 32);
}
