-- The history import (docs/decisions/020-history-sync-and-import.md): history rows beside live ones,
-- and one import per number whose progress is those rows.

-- AlterTable
ALTER TABLE "Message" ADD COLUMN     "history" BOOLEAN NOT NULL DEFAULT false;

-- CreateTable
CREATE TABLE "HistoryImport" (
    "instanceId" TEXT NOT NULL,
    "locationId" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "days" INTEGER NOT NULL,
    "lastChunkAt" TIMESTAMP(3) NOT NULL,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMP(3),
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "HistoryImport_pkey" PRIMARY KEY ("instanceId")
);

-- CreateIndex
CREATE INDEX "HistoryImport_locationId_idx" ON "HistoryImport"("locationId");

-- CreateIndex
CREATE INDEX "HistoryImport_state_idx" ON "HistoryImport"("state");

-- CreateIndex
CREATE INDEX "Message_instanceId_history_status_idx" ON "Message"("instanceId", "history", "status");

-- AddForeignKey
ALTER TABLE "HistoryImport" ADD CONSTRAINT "HistoryImport_instanceId_fkey" FOREIGN KEY ("instanceId") REFERENCES "Instance"("id") ON DELETE CASCADE ON UPDATE CASCADE;
