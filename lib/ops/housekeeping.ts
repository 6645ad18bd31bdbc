import type { Db } from "../db";

// Rows that only ever grow unless someone removes them: media received from WhatsApp after its
// TTL (lib/media/media-store.ts) and webhook replay receipts after theirs (lib/ghl/app-webhooks.ts).
// Deleted in batches by their indexed expiry, each batch a short statement of its own, so a
// backlog of millions never holds one long lock or one huge transaction.

export type HousekeepingResult = { mediaBlobs: number; webhookReceipts: number };

const TABLES = {
  mediaBlobs: `"MediaBlob"`,
  webhookReceipts: `"WebhookReceipt"`,
} as const;

export async function purgeExpired(
  db: Db,
  o: { now?: Date; batch?: number; maxBatches?: number } = {},
): Promise<HousekeepingResult> {
  const now = o.now ?? new Date();
  const batch = o.batch ?? 1000;
  const maxBatches = o.maxBatches ?? 100;
  const out: HousekeepingResult = { mediaBlobs: 0, webhookReceipts: 0 };
  for (const [kind, table] of Object.entries(TABLES) as [keyof HousekeepingResult, string][]) {
    for (let i = 0; i < maxBatches; i++) {
      // table names come from the constant above, never from input
      const n = await db.$executeRawUnsafe(
        `DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} WHERE "expiresAt" <= $1 ORDER BY "expiresAt" LIMIT $2)`,
        now,
        batch,
      );
      out[kind] += n;
      if (n < batch) break;
    }
  }
  return out;
}
