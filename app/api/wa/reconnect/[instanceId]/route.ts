import { byName, view } from "@/lib/api/instances-api";
import { db } from "@/lib/db";
import { withAuth } from "@/lib/http/with-auth";
import { restart } from "@/lib/instances/instances";
import { redis } from "@/lib/redis";

export const dynamic = "force-dynamic";

// POST /api/wa/reconnect/:instanceId — restart the socket with the stored session (no new QR).
export const POST = withAuth({ via: ["api-key"] }, async (_req, auth, p: { instanceId: string }) => {
  const i = await byName(db(), auth.locationId, p.instanceId);
  return Response.json({ ok: true, instance: view(await restart(db(), redis(), auth.locationId, i.id)) });
});
