-- AlterTable
ALTER TABLE "Message" ADD COLUMN     "seq" BIGSERIAL NOT NULL;

-- CreateIndex
CREATE INDEX "Message_contactId_status_createdAt_idx" ON "Message"("contactId", "status", "createdAt");
