import type { Db } from "../db";
import type { SsoUser } from "../ghl/sso";
import { canOpen, type UserAccess } from "./ghl-user-access";

// Who may open the panel (docs/ghl.md#panel-and-sso): a user in an installed location's context, or an
// agency user (no activeLocation) of a company with at least one installed location, who may then
// switch among that company's installed locations. Decided by activeLocation, not by `type`. Which
// locations a user may open is GHL's users API's answer (ghl-user-access.ts): an agency user
// limited to some sub-accounts only gets those.

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

export type SsoRefusal = "not_installed" | "no_location" | "no_access" | "roles_unavailable";
export class SsoRefused extends Error {
  constructor(readonly reason: SsoRefusal) {
    super(reason);
    this.name = "SsoRefused";
  }
}

const installedWhere = { installed: true, uninstalledAt: null } as const;

/**
 * `access` is what GHL says about the user now. A location context with GHL unreachable still signs
 * in (the payload is GHL's word; admin actions check again and fail closed); an agency context
 * needs the answer to know which locations it may land on.
 */
export async function identityFor(db: Db, u: SsoUser, access: UserAccess, hint?: string): Promise<PanelIdentity> {
  const base = {
    userId: u.userId,
    companyId: u.companyId,
    role: u.role,
    userName: u.userName ?? null,
    email: u.email ?? null,
  };
  if (access.status === "gone") throw new SsoRefused("no_access");
  if (u.activeLocation) {
    const loc = await db.location.findFirst({
      where: { id: u.activeLocation, ...installedWhere },
      select: { id: true, companyId: true },
    });
    // a location of another company is as good as not installed for this user
    if (!loc || (loc.companyId && loc.companyId !== u.companyId)) throw new SsoRefused("not_installed");
    if (access.status === "ok" && !canOpen(access, loc.id)) throw new SsoRefused("no_access");
    return { ...base, locationId: loc.id, agency: false };
  }
  const all = await db.location.findMany({
    where: { companyId: u.companyId, ...installedWhere },
    orderBy: [{ name: "asc" }, { id: "asc" }],
    select: { id: true },
  });
  if (!all.length) throw new SsoRefused("no_location");
  if (access.status !== "ok") throw new SsoRefused("roles_unavailable");
  const open = all.filter((l) => canOpen(access, l.id));
  if (!open.length) throw new SsoRefused("no_access");
  // a new handshake of an agency session (re-authentication) stays where the panel was
  const at = open.find((l) => l.id === hint) ?? open[0];
  return { ...base, locationId: at.id, agency: true };
}

/** Still allowed? Re-checked on every panel request, so an uninstall takes effect at once. */
export async function stillAllowed(
  db: Db,
  id: Pick<PanelIdentity, "locationId" | "companyId" | "agency">,
): Promise<boolean> {
  const loc = await db.location.findFirst({
    where: { id: id.locationId, ...installedWhere },
    select: { companyId: true },
  });
  return !!loc && (!loc.companyId || loc.companyId === id.companyId);
}

/** The locations an agency session may switch to (those GHL lets the user open); just its own for a location session. */
export async function switchableLocations(
  db: Db,
  id: Pick<PanelIdentity, "locationId" | "companyId" | "agency">,
  access: UserAccess,
) {
  const where = id.agency ? { companyId: id.companyId, ...installedWhere } : { id: id.locationId, ...installedWhere };
  const rows = await db.location.findMany({
    where,
    orderBy: [{ name: "asc" }, { id: "asc" }],
    select: { id: true, name: true },
  });
  if (!id.agency) return rows;
  // GHL not answering: nowhere to go but where the session is
  return rows.filter((l) => (access.status === "ok" ? canOpen(access, l.id) : l.id === id.locationId));
}
