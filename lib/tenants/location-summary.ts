import type { Db } from "../db";

/** What the panel shows about its location; tenant-scoped by id, nothing secret. */
export async function locationSummary(db: Db, locationId: string) {
  return db.location.findFirst({
    where: { id: locationId, installed: true },
    select: {
      id: true,
      name: true,
      companyId: true,
      needsReinstall: true,
      installedAt: true,
      _count: { select: { instances: true } },
    },
  });
}
