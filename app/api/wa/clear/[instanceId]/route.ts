import { withApiKey } from "@/lib/api-keys/with-api-key";
import { byName, view } from "@/lib/api/instances-api";
import { db } from "@/lib/db";
import { clearSession } from "@/lib/instances/instances";
import { redis } from "@/lib/redis";

export const dynamic = "force-dynamic";

// POST /api/wa/clear/:instanceId — log out, wipe the session, and start again for a new QR.
export const POST = withApiKey<{ instanceId: string }>(async (_req, auth, p) => {
  const i = await byName(db(), auth.locationId, p.instanceId);
  return Response.json({ ok: true, instance: view(await clearSession(db(), redis(), auth.locationId, i.id)) });
});
