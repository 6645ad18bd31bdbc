import { viewsWithLinking } from "@/lib/api/instances-api";
import { audit } from "@/lib/audit";
import { db } from "@/lib/db";
import { withHealth } from "@/lib/health/health-view";
import { streamMayLinkAPhone } from "@/lib/http/stream-auth";
import { withAuth } from "@/lib/http/with-auth";
import { get, remove } from "@/lib/instances/instances";
import { redis } from "@/lib/redis";

export const dynamic = "force-dynamic";

// GET /api/instances/:id — one number, with its waiting QR or pairing code for admins; DELETE — log it out and delete it (messages are kept).
export const GET = withAuth({ via: ["api-key", "panel-session"] }, async (req, auth, p: { id: string }) => {
  const [instance] = await withHealth(
    db(),
    auth.locationId,
    await viewsWithLinking(redis(), [await get(db(), auth.locationId, p.id)], () => streamMayLinkAPhone(req, auth)),
  );
  return Response.json({ instance });
});

export const DELETE = withAuth(
  { via: ["api-key", "panel-session"], role: "admin" },
  async (_req, auth, p: { id: string }) => {
    const i = await get(db(), auth.locationId, p.id);
    await remove(db(), redis(), auth.locationId, p.id);
    await audit(db(), auth, "instance.deleted", { instanceId: p.id, name: i.name });
    return Response.json({ ok: true });
  },
);
