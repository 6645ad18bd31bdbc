import { withApiKey } from "@/lib/api-keys/with-api-key";
import { byName, view } from "@/lib/api/instances-api";
import { db } from "@/lib/db";
import { restart } from "@/lib/instances/instances";
import { redis } from "@/lib/redis";

export const dynamic = "force-dynamic";

// POST /api/wa/reconnect/:instanceId — restart the socket with the stored session (no new QR).
export const POST = withApiKey<{ instanceId: string }>(async (_req, auth, p) => {
  const i = await byName(db(), auth.locationId, p.instanceId);
  return Response.json({ ok: true, instance: view(await restart(db(), redis(), auth.locationId, i.id)) });
});
