import { audit } from "@/lib/audit";
import { db } from "@/lib/db";
import { jsonBody } from "@/lib/http/handler";
import { withAuth } from "@/lib/http/with-auth";
import { readPanelSettings, settingsPatchSchema, updatePanelSettings } from "@/lib/tenants/settings";

export const dynamic = "force-dynamic";

// GET/PATCH /api/panel/settings — default country, provider mode, max wait, warm-up percent, typing simulation
// (the panel's view of Location.settings: never the webhook, whose secret is not in it anyway).
export const GET = withAuth({ via: ["panel-session"] }, async (_req, auth) =>
  Response.json(await readPanelSettings(db(), auth.locationId)),
);

export const PATCH = withAuth({ via: ["panel-session"], role: "admin" }, async (req, auth) => {
  const patch = settingsPatchSchema.parse(await jsonBody(req));
  const s = await updatePanelSettings(db(), auth.locationId, patch);
  await audit(db(), auth, "settings.updated", patch);
  return Response.json(s);
});
