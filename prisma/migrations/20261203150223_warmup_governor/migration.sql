-- The warm-up governor (docs/architecture.md#warm-up-governor): a number's age, the messages it
-- holds until a later day, and which sends opened a new chat.

-- AlterTable
ALTER TABLE "Instance" ADD COLUMN     "firstLinkedAt" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "Message" ADD COLUMN     "newChat" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "notBefore" TIMESTAMP(3);

-- CreateIndex
CREATE INDEX "Message_instanceId_sentAt_idx" ON "Message"("instanceId", "sentAt");

-- A number linked before this migration is as old as its first recorded message, or its last
-- connection if it has none: the history we have, rather than treating every linked number as new.
UPDATE "Instance" i SET "firstLinkedAt" = LEAST(i."connectedAt", (SELECT min(m."createdAt") FROM "Message" m WHERE m."instanceId" = i.id))
  WHERE i."connectedAt" IS NOT NULL;
