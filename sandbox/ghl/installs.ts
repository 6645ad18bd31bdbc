import type { Sim } from "./sim";
import { type CompanyInstall, type LocationInstall, nowIso } from "./state";
import { revokeFor } from "./tokens";

// Installing happens when the user consents on the choose-location page, before any token exists;
// GHL then tells the app through the INSTALL webhook, independently of the OAuth callback.

export function installLocation(
  sim: Sim,
  locationId: string,
  opts: { via: LocationInstall["via"]; userId?: string; scopes: string[]; webhook: boolean },
): LocationInstall {
  const loc = sim.state.locations.get(locationId);
  if (!loc) throw new Error(`unknown location ${locationId}`);
  const inst: LocationInstall = {
    locationId,
    companyId: loc.companyId,
    installedAt: nowIso(),
    userId: opts.userId,
    via: opts.via,
    scopes: opts.scopes,
  };
  sim.state.locationInstalls.set(locationId, inst);
  if (opts.webhook) sim.webhooks.sendLater("INSTALL", installPayload(sim, loc.companyId, locationId, opts.userId));
  return inst;
}

export function installCompany(
  sim: Sim,
  companyId: string,
  opts: {
    userId: string;
    scopes: string[];
    approvedLocations?: string[];
    installToFutureLocations: boolean;
    webhook: boolean;
  },
): CompanyInstall {
  const own = sim.state.locationsOf(companyId).map((l) => l.id);
  const approved = opts.approvedLocations?.length ? opts.approvedLocations.filter((id) => own.includes(id)) : own;
  const inst: CompanyInstall = {
    companyId,
    approvedLocations: approved,
    installToFutureLocations: opts.installToFutureLocations,
    installedAt: nowIso(),
    userId: opts.userId,
    scopes: opts.scopes,
  };
  sim.state.companyInstalls.set(companyId, inst);
  for (const id of approved)
    installLocation(sim, id, { via: "bulk", userId: opts.userId, scopes: opts.scopes, webhook: false });
  if (opts.webhook) sim.webhooks.sendLater("INSTALL", installPayload(sim, companyId, undefined, opts.userId));
  return inst;
}

export function installPayload(
  sim: Sim,
  companyId: string,
  locationId?: string,
  userId?: string,
): Record<string, unknown> {
  const company = sim.state.companies.get(companyId);
  return {
    appId: sim.cfg.appId,
    companyId,
    ...(locationId ? { locationId } : {}),
    ...(userId ? { userId } : {}),
    companyName: company?.name,
    isWhitelabelCompany: false,
    whitelabelDetails: {},
    versionId: sim.cfg.versionId,
    installType: locationId ? "Location" : "Company",
  };
}

// Uninstalling revokes every token of the location (or company) before telling the app.
export function uninstall(sim: Sim, where: { locationId?: string; companyId?: string }): void {
  const s = sim.state;
  if (where.locationId) {
    s.locationInstalls.delete(where.locationId);
    for (const ci of s.companyInstalls.values())
      ci.approvedLocations = ci.approvedLocations.filter((l) => l !== where.locationId);
    revokeFor(s, { locationId: where.locationId });
  } else if (where.companyId) {
    s.companyInstalls.delete(where.companyId);
    for (const l of s.locationsOf(where.companyId)) {
      s.locationInstalls.delete(l.id);
      revokeFor(s, { locationId: l.id });
    }
    revokeFor(s, { companyId: where.companyId });
  }
}
