import { z } from "zod";
import { audit } from "../audit";
import { type Db, retryOnConflict } from "../db";
import { env } from "../env";
import { ghlAppId } from "../ghl/app-id";
import { type GhlClientOptions, ghlClient, ghlCompanyClient } from "../ghl/client";
import type { TokenResponse } from "../ghl/oauth";
import { type Deps, mintFromCompany, pairFrom } from "../ghl/token-refresh";
import { childLogger } from "../log";
import { sealPair } from "./token-store";

// What an install leaves behind: a Company row with its token for bulk installs, and a Location row
// with its own token for every approved location (docs/ghl.md#bulk-installs).

export type InstallResult = {
  kind: "location" | "company";
  companyId: string | null;
  locations: { id: string; name: string | null }[];
};

const installed = z
  .object({
    locations: z.array(z.object({ _id: z.string(), name: z.string().optional() }).passthrough()).default([]),
  })
  .passthrough();
const locationInfo = z
  .object({ location: z.object({ name: z.string().optional() }).passthrough().optional() })
  .passthrough();

export async function completeInstall(d: Deps, t: TokenResponse): Promise<InstallResult> {
  const log = childLogger({ companyId: t.companyId, locationId: t.locationId });
  const opts: GhlClientOptions = { db: d.db, redis: d.redis };
  if (t.userType === "Company" || (!t.locationId && t.companyId)) {
    const companyId = t.companyId!;
    const sealed = sealPair("company", companyId, pairFrom(t));
    await retryOnConflict(() =>
      d.db.company.upsert({
        where: { id: companyId },
        create: { id: companyId, installed: true, ...sealed },
        update: { installed: true, ...sealed },
      }),
    );
    const names = await installedLocationNames(d, companyId, opts).catch((err) => {
      log.warn({ err }, "could not list installed locations");
      return new Map<string, string | undefined>();
    });
    const ids = t.approvedLocations?.length ? t.approvedLocations : [...names.keys()];
    const locations = [];
    for (const id of ids) {
      await upsertLocation(d.db, id, companyId, names.get(id) ?? null);
      const pair = await mintFromCompany(d, id);
      await d.db.location.update({ where: { id }, data: { ...sealPair("location", id, pair), needsReinstall: false } });
      locations.push({ id, name: names.get(id) ?? null });
    }
    await audit(d.db, { companyId, actor: "ghl" }, "app.installed", { bulk: true, locations: ids });
    return { kind: "company", companyId, locations };
  }
  const id = t.locationId!;
  const companyId = t.companyId ?? null;
  // GHL's INSTALL webhook for this install may be creating the same company right now
  if (companyId)
    await retryOnConflict(() =>
      d.db.company.upsert({ where: { id: companyId }, create: { id: companyId }, update: {} }),
    );
  await upsertLocation(d.db, id, companyId, null);
  await d.db.location.update({
    where: { id },
    data: { ...sealPair("location", id, pairFrom(t)), needsReinstall: false },
  });
  const name = await locationName(id, opts).catch(() => null);
  if (name) await d.db.location.update({ where: { id }, data: { name } });
  await audit(d.db, { locationId: id, companyId, actor: "ghl" }, "app.installed", { bulk: false });
  return { kind: "location", companyId, locations: [{ id, name }] };
}

/** INSTALL webhook: records the install durably; tokens are minted by `mintForInstall` afterwards. */
export async function recordInstallWebhook(
  db: Db,
  p: { companyId: string; locationId?: string; companyName?: string },
) {
  await retryOnConflict(() =>
    db.company.upsert({
      where: { id: p.companyId },
      create: { id: p.companyId, name: p.companyName ?? null },
      update: { ...(p.companyName ? { name: p.companyName } : {}) },
    }),
  );
  if (p.locationId) await upsertLocation(db, p.locationId, p.companyId, null);
  await audit(db, { companyId: p.companyId, locationId: p.locationId ?? null, actor: "ghl" }, "webhook.install", {
    agency: !p.locationId,
  });
}

/** Mints Location tokens with the company's token: one location, or every installed one lacking a token. */
export async function mintForInstall(d: Deps, p: { companyId: string; locationId?: string }): Promise<string[]> {
  const co = await d.db.company.findUnique({ where: { id: p.companyId }, select: { accessTokenEnc: true } });
  if (!co?.accessTokenEnc) return []; // a location-level install brings its own token through the callback
  const opts = { db: d.db, redis: d.redis };
  let targets: string[];
  let names = new Map<string, string | undefined>();
  if (p.locationId) targets = [p.locationId];
  else {
    names = await installedLocationNames(d, p.companyId, opts);
    targets = [...names.keys()];
  }
  const minted: string[] = [];
  for (const id of targets) {
    await upsertLocation(d.db, id, p.companyId, names.get(id) ?? null);
    const has = await d.db.location.findUnique({ where: { id }, select: { accessTokenEnc: true } });
    if (has?.accessTokenEnc) continue;
    const pair = await mintFromCompany(d, id);
    await d.db.location.update({ where: { id }, data: { ...sealPair("location", id, pair), needsReinstall: false } });
    minted.push(id);
  }
  return minted;
}

async function upsertLocation(db: Db, id: string, companyId: string | null, name: string | null) {
  const reinstall = {
    installed: true,
    uninstalledAt: null,
    ...(companyId ? { companyId } : {}),
    ...(name ? { name } : {}),
  };
  await retryOnConflict(() =>
    db.location.upsert({ where: { id }, create: { id, companyId, name }, update: reinstall }),
  );
}

async function installedLocationNames(d: Deps, companyId: string, opts: GhlClientOptions) {
  const appId = ghlAppId(env());
  const q = new URLSearchParams({ companyId, appId, isInstalled: "true", limit: "500" });
  const r = installed.parse(await ghlCompanyClient(companyId, opts)("GET", `/oauth/installedLocations?${q}`));
  return new Map(r.locations.map((l) => [l._id, l.name]));
}

// GET /locations/{id} (scope locations.readonly) gives a location-level install its name.
async function locationName(id: string, opts: GhlClientOptions): Promise<string | null> {
  const r = locationInfo.parse(
    await ghlClient(id, { ...opts, maxRetries: 0 })("GET", `/locations/${encodeURIComponent(id)}`),
  );
  return r.location?.name ?? null;
}
