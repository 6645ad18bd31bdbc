import { withLocation } from "@/lib/auth/panel-session";
import { db } from "@/lib/db";
import { jsonBody } from "@/lib/http/handler";
import { parseLocationSettings } from "@/lib/tenants/settings";
import { settingsPatchSchema, updateLocationSettings } from "@/lib/tenants/update-settings";

export const dynamic = "force-dynamic";

// GET/PATCH /api/panel/settings — default country, provider mode, max wait, warm-up percent, typing simulation.
export const GET = withLocation(async (_req, auth) => {
  const loc = await db().location.findUnique({ where: { id: auth.locationId }, select: { settings: true } });
  return Response.json(parseLocationSettings(loc?.settings));
});

export const PATCH = withLocation(async (req, auth) => {
  const patch = settingsPatchSchema.parse(await jsonBody(req));
  const s = await updateLocationSettings(db(), auth.locationId, patch);
  await db().auditEvent.create({ data: { locationId: auth.locationId, actor: `user:${auth.identity.userId}`, action: "settings.updated", detail: patch } });
  return Response.json(s);
}, { admin: true });
