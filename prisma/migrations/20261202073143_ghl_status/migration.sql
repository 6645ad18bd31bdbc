-- AlterTable
ALTER TABLE "Message" ADD COLUMN     "ghlStatus" "MessageStatus";

-- Statuses reached before this column existed were pushed to GHL then (or dead-lettered, in the
-- panel): the sweep must not push the whole history again.
UPDATE "Message" SET "ghlStatus" = status
  WHERE direction = 'OUTBOUND' AND "ghlMessageId" IS NOT NULL AND status IN ('DELIVERED', 'READ', 'FAILED');

-- The status sweep's queue: outbound messages from GHL whose delivered/read/failed has not been
-- acknowledged by GHL yet. Partial, so it holds only those few rows. Written by hand: Prisma's
-- schema language cannot describe a partial index (see schema.prisma).
CREATE INDEX "Message_ghl_status_due_idx" ON "Message" ("updatedAt")
  WHERE direction = 'OUTBOUND' AND "ghlMessageId" IS NOT NULL AND status IN ('DELIVERED', 'READ', 'FAILED')
    AND "ghlStatus" IS DISTINCT FROM status;
