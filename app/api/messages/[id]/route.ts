import { db } from "@/lib/db";
import { notFound } from "@/lib/errors";
import { withAuth } from "@/lib/http/with-auth";

export const dynamic = "force-dynamic";

// GET /api/messages/:id — a message of the key's location (another location's id is a 404).
export const GET = withAuth({ via: ["api-key"] }, async (_req, auth, { id }: { id: string }) => {
  const m = await db().message.findFirst({
    where: { id, locationId: auth.locationId },
    include: { instance: { select: { name: true } }, contact: { select: { phone: true } } },
  });
  if (!m) throw notFound("no such message");
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  return Response.json({
    id: m.id,
    direction: m.direction,
    status: m.status,
    error: m.error,
    instanceId: m.instance?.name ?? null,
    to: m.contact?.phone ?? null,
    type: m.type,
    waMessageId: m.waMessageId,
    createdAt: m.createdAt.toISOString(),
    sentAt: iso(m.sentAt),
    deliveredAt: iso(m.deliveredAt),
    readAt: iso(m.readAt),
  });
});
