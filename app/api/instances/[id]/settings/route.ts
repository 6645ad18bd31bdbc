import { audit } from "@/lib/audit";
import { db } from "@/lib/db";
import { jsonBody } from "@/lib/http/handler";
import { withAuth } from "@/lib/http/with-auth";
import {
  instanceSettingsPatchSchema,
  readInstanceSettings,
  updateInstanceSettings,
} from "@/lib/instances/instance-settings";
import { get } from "@/lib/instances/instances";

export const dynamic = "force-dynamic";

// GET/PATCH /api/instances/:id/settings — one number's options (relaying WhatsApp groups). Any user
// of the location reads them; only admins change them. Another tenant's id is a 404.
export const GET = withAuth({ via: ["api-key", "panel-session"] }, async (_req, auth, p: { id: string }) => {
  await get(db(), auth.locationId, p.id);
  return Response.json({ settings: await readInstanceSettings(db(), auth.locationId, p.id) });
});

export const PATCH = withAuth(
  { via: ["api-key", "panel-session"], role: "admin" },
  async (req, auth, p: { id: string }) => {
    const patch = instanceSettingsPatchSchema.parse(await jsonBody(req));
    const settings = await updateInstanceSettings(db(), auth.locationId, p.id, patch);
    await audit(db(), auth, "instance.settings", { instanceId: p.id, ...patch });
    return Response.json({ settings });
  },
);
