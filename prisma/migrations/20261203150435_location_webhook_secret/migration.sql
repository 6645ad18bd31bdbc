-- The outgoing webhook's signing secret leaves Location.settings for a sealed column of its own
-- (docs/decisions/017-json-settings-one-owner.md): the settings JSON is read by many and returned
-- to the panel, a secret belongs where only its owner reads it.

-- AlterTable
ALTER TABLE "Location" ADD COLUMN     "webhookSecretEnc" TEXT;

-- Existing secrets move as they are: the ciphertext is bound to `webhook:<locationId>`, not to
-- where it is kept, so it opens unchanged from the new column and no key is needed here.
UPDATE "Location"
  SET "webhookSecretEnc" = settings->>'webhookSecretEnc', settings = settings - 'webhookSecretEnc'
  WHERE jsonb_typeof(settings) = 'object' AND settings ? 'webhookSecretEnc';
