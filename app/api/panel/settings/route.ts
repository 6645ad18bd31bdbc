import { audit } from "@/lib/audit";
import { db } from "@/lib/db";
import { jsonBody } from "@/lib/http/handler";
import { withAuth } from "@/lib/http/with-auth";
import { parseLocationSettings } from "@/lib/tenants/settings";
import { settingsPatchSchema, updateLocationSettings } from "@/lib/tenants/update-settings";

export const dynamic = "force-dynamic";

// GET/PATCH /api/panel/settings — default country, provider mode, max wait, warm-up percent, typing simulation.
export const GET = withAuth({ via: ["panel-session"] }, async (_req, auth) => {
  const loc = await db().location.findUnique({ where: { id: auth.locationId }, select: { settings: true } });
  return Response.json(parseLocationSettings(loc?.settings));
});

export const PATCH = withAuth({ via: ["panel-session"], role: "admin" }, async (req, auth) => {
  const patch = settingsPatchSchema.parse(await jsonBody(req));
  const s = await updateLocationSettings(db(), auth.locationId, patch);
  await audit(db(), auth, "settings.updated", patch);
  return Response.json(s);
});
