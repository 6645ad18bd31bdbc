import { byName, view } from "@/lib/api/instances-api";
import { db } from "@/lib/db";
import { withAuth } from "@/lib/http/with-auth";
import { clearSession } from "@/lib/instances/instances";
import { redis } from "@/lib/redis";

export const dynamic = "force-dynamic";

// POST /api/wa/clear/:instanceId — log out, wipe the session, and start again for a new QR.
export const POST = withAuth({ via: ["api-key"] }, async (_req, auth, p: { instanceId: string }) => {
  const i = await byName(db(), auth.locationId, p.instanceId);
  return Response.json({ ok: true, instance: view(await clearSession(db(), redis(), auth.locationId, i.id)) });
});
