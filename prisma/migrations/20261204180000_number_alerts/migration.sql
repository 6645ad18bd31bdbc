-- Alerts about numbers and the GHL workflows subscribed to this app's triggers
-- (docs/architecture.md#number-alerts, docs/ghl.md#workflow-triggers). Own tables only.

-- CreateTable
CREATE TABLE "NumberAlert" (
    "id" TEXT NOT NULL,
    "locationId" TEXT NOT NULL,
    "instanceId" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "reason" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "acknowledgedAt" TIMESTAMP(3),
    "acknowledgedBy" TEXT,
    "queuedAt" TIMESTAMP(3),

    CONSTRAINT "NumberAlert_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "WorkflowSubscription" (
    "id" TEXT NOT NULL,
    "locationId" TEXT NOT NULL,
    "ghlTriggerId" TEXT NOT NULL,
    "workflowId" TEXT NOT NULL,
    "triggerKey" TEXT NOT NULL,
    "targetUrl" TEXT NOT NULL,
    "filters" JSONB NOT NULL DEFAULT '[]',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "WorkflowSubscription_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "NumberAlert_locationId_acknowledgedAt_idx" ON "NumberAlert"("locationId", "acknowledgedAt");

-- CreateIndex
CREATE INDEX "NumberAlert_instanceId_createdAt_idx" ON "NumberAlert"("instanceId", "createdAt");

-- CreateIndex
CREATE INDEX "NumberAlert_queuedAt_idx" ON "NumberAlert"("queuedAt");

-- CreateIndex
CREATE INDEX "WorkflowSubscription_locationId_triggerKey_idx" ON "WorkflowSubscription"("locationId", "triggerKey");

-- CreateIndex
CREATE UNIQUE INDEX "WorkflowSubscription_locationId_ghlTriggerId_key" ON "WorkflowSubscription"("locationId", "ghlTriggerId");
