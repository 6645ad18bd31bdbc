import { db } from "@/lib/db";
import { eventHub, sseResponse } from "@/lib/events/hub";
import { streamMayLinkAPhone, streamStillAuthorized } from "@/lib/http/stream-auth";
import { withAuth } from "@/lib/http/with-auth";
import { eventsChannel } from "@/lib/instances/events";
import { get } from "@/lib/instances/instances";
import { linkCodeEvents } from "@/lib/instances/link-codes";
import { redis } from "@/lib/redis";

export const dynamic = "force-dynamic";

// GET /api/instances/:id/events — live status/QR/pairing-code events of one number (SSE); the
// credential is checked again while it lives, and its waiting QR or pairing code comes first, as in
// /api/events.
export const GET = withAuth({ via: ["api-key", "panel-session"] }, async (req, auth, p: { id: string }) => {
  await get(db(), auth.locationId, p.id); // 404 for another tenant's id
  const mine = `"instanceId":"${p.id}"`;
  return sseResponse(
    eventHub(), eventsChannel(auth.locationId), (m) => m.includes(mine), req.signal,
    { stillValid: () => streamStillAuthorized(req, auth), mayLinkAPhone: () => streamMayLinkAPhone(req, auth) },
    async () => (await linkCodeEvents(db(), redis(), auth.locationId, p.id)).map((e) => JSON.stringify(e)),
  );
});
