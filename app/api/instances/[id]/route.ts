import { limitTenantCall } from "@/lib/api-keys/with-api-key";
import { viewsWithLinking } from "@/lib/api/instances-api";
import { db } from "@/lib/db";
import { streamMayLinkAPhone } from "@/lib/events/stream-auth";
import { withTenant } from "@/lib/http/with-tenant";
import { get, remove } from "@/lib/instances/instances";
import { redis } from "@/lib/redis";

export const dynamic = "force-dynamic";

// GET /api/instances/:id — one number, with its waiting QR or pairing code for admins; DELETE — log it out and delete it (messages are kept).
export const GET = withTenant<{ id: string }>(async (req, auth, p) => {
  const limited = await limitTenantCall(auth); // the direct API's rate limits, for API-key calls
  if (limited) return limited;
  const [instance] = await viewsWithLinking(redis(), [await get(db(), auth.locationId, p.id)], () => streamMayLinkAPhone(req, auth));
  return Response.json({ instance });
});

export const DELETE = withTenant<{ id: string }>(async (_req, auth, p) => {
  const limited = await limitTenantCall(auth); // the direct API's rate limits, for API-key calls
  if (limited) return limited;
  const i = await get(db(), auth.locationId, p.id);
  await remove(db(), redis(), auth.locationId, p.id);
  await db().auditEvent.create({ data: { locationId: auth.locationId, actor: auth.actor, action: "instance.deleted", detail: { instanceId: p.id, name: i.name } } });
  return Response.json({ ok: true });
}, { admin: true });
