-- CreateTable
CREATE TABLE "MediaBlob" (
    "id" TEXT NOT NULL,
    "locationId" TEXT NOT NULL,
    "mimetype" TEXT NOT NULL,
    "fileName" TEXT NOT NULL,
    "size" INTEGER NOT NULL,
    "data" BYTEA NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "MediaBlob_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "MediaBlob_locationId_idx" ON "MediaBlob"("locationId");

-- CreateIndex
CREATE INDEX "MediaBlob_expiresAt_idx" ON "MediaBlob"("expiresAt");

-- AddForeignKey
ALTER TABLE "MediaBlob" ADD CONSTRAINT "MediaBlob_locationId_fkey" FOREIGN KEY ("locationId") REFERENCES "Location"("id") ON DELETE CASCADE ON UPDATE CASCADE;
