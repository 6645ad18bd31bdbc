import { audit } from "../audit";
import type { Db } from "../db";
import { notFound } from "../errors";

// A location's name as GHL says it: fetched at install (`lib/tenants/install.ts`) and pushed by
// GHL's LocationUpdate webhook when someone renames the sub-account (docs/ghl.md#location-names).
// The panel shows it instead of the bare id.

/**
 * Applies a LocationUpdate. Only a location installed here, of the company the webhook names,
 * is touched; any other (unknown, uninstalled, another company's) is a 404 that changes nothing,
 * and the webhook can never create a location or move one to another company.
 * Resolves whether the name changed (false when the webhook carried no name, or the same one).
 */
export async function renameFromGhl(
  db: Db,
  p: { locationId: string; companyId?: string; name?: string },
): Promise<boolean> {
  const row = await db.location.findFirst({
    where: { id: p.locationId, installed: true },
    select: { name: true, companyId: true },
  });
  if (!row || (p.companyId && row.companyId && row.companyId !== p.companyId))
    throw notFound("no location with this id is installed in that company");
  if (!p.name || p.name === row.name) return false;
  await db.location.updateMany({ where: { id: p.locationId, installed: true }, data: { name: p.name } });
  await audit(db, { locationId: p.locationId, companyId: row.companyId, actor: "ghl" }, "location.renamed", {
    from: row.name,
    to: p.name,
  });
  return true;
}
