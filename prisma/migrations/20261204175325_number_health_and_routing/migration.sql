-- CreateTable
CREATE TABLE "NumberEvent" (
    "id" TEXT NOT NULL,
    "locationId" TEXT NOT NULL,
    "instanceId" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "code" TEXT,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "NumberEvent_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "NumberEvent_instanceId_at_idx" ON "NumberEvent"("instanceId", "at");

-- CreateIndex
CREATE INDEX "NumberEvent_at_idx" ON "NumberEvent"("at");

-- AddForeignKey
ALTER TABLE "NumberEvent" ADD CONSTRAINT "NumberEvent_instanceId_fkey" FOREIGN KEY ("instanceId") REFERENCES "Instance"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AlterTable
ALTER TABLE "Message" ADD COLUMN "routedBy" TEXT;
