-- A WhatsApp contact may share only its LID (no phone number): such a contact is kept by its LID,
-- one per location, until its phone becomes known (docs/decisions/009-lid-only-contacts.md).

-- AlterTable
ALTER TABLE "Contact" ALTER COLUMN "phone" DROP NOT NULL,
ADD COLUMN     "ghlPhone" TEXT;

-- Every GHL contact linked so far was found or created by its phone number.
UPDATE "Contact" SET "ghlPhone" = phone WHERE "ghlContactId" IS NOT NULL;

-- LIDs were stored as given (`<user>@lid` or `<user>:<device>@lid`): normalised to `<user>@lid`.
UPDATE "Contact" SET "waLid" = regexp_replace("waLid", ':\d+@', '@') WHERE "waLid" ~ ':\d+@';

-- Before the unique index: a LID that two rows of one location carry (which only a bug could
-- produce, a LID being one person's) stays on the row updated last and is cleared on the others.
UPDATE "Contact" c SET "waLid" = NULL
  FROM "Contact" k
  WHERE k."locationId" = c."locationId" AND k."waLid" = c."waLid" AND k.id <> c.id
    AND (k."updatedAt", k.id) > (c."updatedAt", c.id);

-- DropIndex
DROP INDEX "Contact_locationId_waLid_idx";

-- CreateIndex
CREATE UNIQUE INDEX "Contact_locationId_waLid_key" ON "Contact"("locationId", "waLid");
