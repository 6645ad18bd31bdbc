import type { Db } from "../db";
import type { SsoUser } from "../ghl/sso";

// Who may open the panel (ghl-platform.md §5): a user in an installed location's context, or an
// agency user (no activeLocation) of a company with at least one installed location, who may then
// switch among that company's installed locations. Decided by activeLocation, not by `type`.

export type PanelIdentity = {
  userId: string;
  companyId: string;
  role: string;
  userName: string | null;
  email: string | null;
  locationId: string;
  /** true: agency context, may switch among the company's installed locations */
  agency: boolean;
};

export type SsoRefusal = "not_installed" | "no_location";
export class SsoRefused extends Error {
  constructor(readonly reason: SsoRefusal) {
    super(reason);
    this.name = "SsoRefused";
  }
}

const installedWhere = { installed: true, uninstalledAt: null } as const;

export async function identityFor(db: Db, u: SsoUser): Promise<PanelIdentity> {
  const base = { userId: u.userId, companyId: u.companyId, role: u.role, userName: u.userName ?? null, email: u.email ?? null };
  if (u.activeLocation) {
    const loc = await db.location.findFirst({ where: { id: u.activeLocation, ...installedWhere }, select: { id: true, companyId: true } });
    // a location of another company is as good as not installed for this user
    if (!loc || (loc.companyId && loc.companyId !== u.companyId)) throw new SsoRefused("not_installed");
    return { ...base, locationId: loc.id, agency: false };
  }
  const first = await db.location.findFirst({ where: { companyId: u.companyId, ...installedWhere }, orderBy: [{ name: "asc" }, { id: "asc" }], select: { id: true } });
  if (!first) throw new SsoRefused("no_location");
  return { ...base, locationId: first.id, agency: true };
}

/** Still allowed? Re-checked on every panel request, so an uninstall takes effect at once. */
export async function stillAllowed(db: Db, id: Pick<PanelIdentity, "locationId" | "companyId" | "agency">): Promise<boolean> {
  const loc = await db.location.findFirst({ where: { id: id.locationId, ...installedWhere }, select: { companyId: true } });
  return !!loc && (!loc.companyId || loc.companyId === id.companyId);
}

/** The locations an agency session may switch to; just its own for a location session. */
export async function switchableLocations(db: Db, id: Pick<PanelIdentity, "locationId" | "companyId" | "agency">) {
  const where = id.agency ? { companyId: id.companyId, ...installedWhere } : { id: id.locationId, ...installedWhere };
  return db.location.findMany({ where, orderBy: [{ name: "asc" }, { id: "asc" }], select: { id: true, name: true } });
}
