import type { Db } from "../db";
import { signMediaPath } from "./signed-url";

// Media received from WhatsApp, kept for GHL to fetch (and for the panel), then expired.
export const MEDIA_TTL_DAYS = 30;

export async function saveMedia(db: Db, locationId: string, m: { bytes: Buffer; mimetype: string; fileName: string }) {
  const row = await db.mediaBlob.create({
    data: {
      locationId,
      mimetype: m.mimetype,
      fileName: m.fileName,
      size: m.bytes.length,
      // a view, not a copy: the bytes may be as large as the inbound media limit
      data: new Uint8Array(m.bytes.buffer as ArrayBuffer, m.bytes.byteOffset, m.bytes.byteLength),
      expiresAt: new Date(Date.now() + MEDIA_TTL_DAYS * 86_400_000),
    },
    select: { id: true },
  });
  return { mediaId: row.id, path: signMediaPath(row.id, m.fileName, MEDIA_TTL_DAYS * 86_400) };
}

export async function loadMedia(db: Db, mediaId: string) {
  return db.mediaBlob.findFirst({ where: { id: mediaId, expiresAt: { gt: new Date() } } });
}
// expired rows are deleted by the housekeeping job (lib/ops/housekeeping.ts)
