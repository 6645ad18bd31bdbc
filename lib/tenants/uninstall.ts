import type { Redis } from "ioredis";
import { audit } from "../audit";
import type { Db } from "../db";
import { forgetAccessToken } from "../ghl/token-refresh";
import { publishControl } from "../instances/control";

// UNINSTALL (docs/ghl.md#app-webhooks): the tenant's tokens and WhatsApp session keys go, its sessions are
// stopped, and an audit row stays. Messages and contacts stay too (the tenant may come back).
export async function uninstallTenant(
  db: Db,
  redis: Redis,
  p: { locationId?: string; companyId?: string },
): Promise<string[]> {
  const locationIds = p.locationId
    ? [p.locationId]
    : (await db.location.findMany({ where: { companyId: p.companyId }, select: { id: true } })).map((l) => l.id);
  const cleared = {
    accessTokenEnc: null,
    refreshTokenEnc: null,
    tokenExpiresAt: null,
    installed: false,
    uninstalledAt: new Date(),
  };
  await db.$transaction(async (tx) => {
    if (locationIds.length) {
      await tx.location.updateMany({ where: { id: { in: locationIds } }, data: cleared });
      await tx.instance.updateMany({ where: { locationId: { in: locationIds } }, data: { desiredState: "STOPPED" } });
      const inst = { instance: { locationId: { in: locationIds } } };
      await tx.waKey.deleteMany({ where: inst });
      await tx.waCreds.deleteMany({ where: inst });
      await tx.apiKey.updateMany({
        where: { locationId: { in: locationIds }, revokedAt: null },
        data: { revokedAt: new Date() },
      });
    }
    if (p.companyId) {
      await tx.company.updateMany({
        where: { id: p.companyId },
        data: { accessTokenEnc: null, refreshTokenEnc: null, tokenExpiresAt: null, installed: false },
      });
    }
    const who = (locationIds.length ? locationIds : [null]).map((locationId) => ({
      locationId,
      companyId: p.companyId ?? null,
      actor: "ghl",
    }));
    await audit(tx, who, "app.uninstalled", { scope: p.locationId ? "location" : "company" });
  });
  for (const locationId of locationIds) forgetAccessToken(db, "location", locationId);
  if (p.companyId) forgetAccessToken(db, "company", p.companyId);
  // after the commit: a worker that rescans finds the desired state STOPPED even if this is lost
  for (const locationId of locationIds) await publishControl(redis, { type: "location.uninstalled", locationId });
  return locationIds;
}
