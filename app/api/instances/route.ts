import { limitTenantCall } from "@/lib/api-keys/with-api-key";
import { createInstanceSchema, createOrInit, viewsWithLinking } from "@/lib/api/instances-api";
import { db } from "@/lib/db";
import { env } from "@/lib/env";
import { streamMayLinkAPhone } from "@/lib/events/stream-auth";
import { jsonBody } from "@/lib/http/handler";
import { withTenant } from "@/lib/http/with-tenant";
import { list } from "@/lib/instances/instances";
import { redis } from "@/lib/redis";
import { parseLocationSettings } from "@/lib/tenants/settings";

export const dynamic = "force-dynamic";

// POST /api/instances — create a number (or reinitialise it); GET — the location's numbers.
// API key or panel session; creating (or wiping a session with forceNew) is for admins.
export const POST = withTenant(async (req, auth) => {
  const limited = await limitTenantCall(auth); // the direct API's rate limits, for API-key calls
  if (limited) return limited;
  const b = createInstanceSchema.parse(await jsonBody(req));
  const r = await createOrInit(db(), redis(), auth.locationId, b, { maxPerLocation: env().MAX_INSTANCES_PER_LOCATION });
  await db().auditEvent.create({ data: { locationId: auth.locationId, actor: auth.actor, action: r.created ? "instance.created" : "instance.reinitialised", detail: { name: b.instanceId, forceNew: !!b.forceNew } } });
  return Response.json({ ok: true, ...r }, { status: r.created ? 201 : 200 });
}, { admin: true });

// GET carries each number's waiting QR or pairing code (admins and API keys only), so the panel
// shows it on first paint.
export const GET = withTenant(async (req, auth) => {
  const limited = await limitTenantCall(auth); // the direct API's rate limits, for API-key calls
  if (limited) return limited;
  const [rows, loc] = await Promise.all([list(db(), auth.locationId), db().location.findUnique({ where: { id: auth.locationId }, select: { settings: true } })]);
  return Response.json({ instances: await viewsWithLinking(redis(), rows, () => streamMayLinkAPhone(req, auth)), defaultInstanceId: parseLocationSettings(loc?.settings).defaultInstanceId });
});
