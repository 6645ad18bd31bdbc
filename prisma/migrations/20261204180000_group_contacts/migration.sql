-- A WhatsApp group relayed to GHL is one contact there (name `Group: <subject>`, no phone), the
-- group jid is kept beside it, one contact per group per location (docs/decisions/021-groups-as-ghl-contacts.md).

-- AlterTable
ALTER TABLE "Contact" ADD COLUMN     "waGroupJid" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "Contact_locationId_waGroupJid_key" ON "Contact"("locationId", "waGroupJid");
