import { withHistoryProgress } from "@/lib/api/history-api";
import { createInstanceSchema, createOrInit, viewsWithLinking } from "@/lib/api/instances-api";
import { audit } from "@/lib/audit";
import { db } from "@/lib/db";
import { env } from "@/lib/env";
import { withHealth } from "@/lib/health/health-view";
import { jsonBody } from "@/lib/http/handler";
import { streamMayLinkAPhone } from "@/lib/http/stream-auth";
import { withAuth } from "@/lib/http/with-auth";
import { list } from "@/lib/instances/instances";
import { numberStats } from "@/lib/instances/number-stats";
import { redis } from "@/lib/redis";
import { readLocationSettings } from "@/lib/tenants/settings";

export const dynamic = "force-dynamic";

// POST /api/instances — create a number (or reinitialise it); GET — the location's numbers.
// API key or panel session; creating (or wiping a session with forceNew) is for admins.
export const POST = withAuth({ via: ["api-key", "panel-session"], role: "admin" }, async (req, auth) => {
  const b = createInstanceSchema.parse(await jsonBody(req));
  const r = await createOrInit(db(), redis(), auth.locationId, b, { maxPerLocation: env().MAX_INSTANCES_PER_LOCATION });
  await audit(db(), auth, r.created ? "instance.created" : "instance.reinitialised", {
    name: b.instanceId,
    forceNew: !!b.forceNew,
  });
  return Response.json({ ok: true, ...r }, { status: r.created ? 201 : 200 });
});

// GET carries each number's waiting QR or pairing code (admins and API keys only), so the panel
// shows it on first paint, and each number's health (lib/health/).
export const GET = withAuth({ via: ["api-key", "panel-session"] }, async (req, auth) => {
  const [rows, settings, stats] = await Promise.all([
    list(db(), auth.locationId),
    readLocationSettings(db(), auth.locationId),
    numberStats(db(), auth.locationId),
  ]);
  const views = await viewsWithLinking(redis(), rows, () => streamMayLinkAPhone(req, auth));
  const withStats = views.map((v) => ({ ...v, stats: stats.get(v.id) }));
  const withImports = await withHistoryProgress(db(), auth.locationId, withStats);
  return Response.json({
    instances: await withHealth(db(), auth.locationId, withImports),
    defaultInstanceId: settings.defaultInstanceId,
  });
});
