import type { Db } from "../db";
import { AppError } from "../errors";
import { patchLocationSettings, readLocationSettings } from "../tenants/settings";
import type { TagRoute } from "./tag-routes";

// The tag → number table of a location (GET/PUT /api/panel/tag-routes): read and replaced whole,
// through Location.settings' one writer. Every number named must be one of the location's.

export async function readTagRoutes(db: Db, locationId: string): Promise<TagRoute[]> {
  return (await readLocationSettings(db, locationId)).tagRoutes;
}

export async function replaceTagRoutes(db: Db, locationId: string, routes: TagRoute[]): Promise<TagRoute[]> {
  const seen = new Set<string>();
  for (const r of routes) {
    const key = r.tag.toLowerCase();
    if (seen.has(key)) throw new AppError("bad_request", `the tag "${r.tag}" is in the table twice`);
    seen.add(key);
  }
  const ids = [...new Set(routes.map((r) => r.instanceId))];
  if (ids.length) {
    const found = await db.instance.count({ where: { locationId, id: { in: ids } } });
    if (found !== ids.length) throw new AppError("bad_request", "a number in the table is not one of this location's");
  }
  return (await patchLocationSettings(db, locationId, { tagRoutes: routes })).tagRoutes;
}
