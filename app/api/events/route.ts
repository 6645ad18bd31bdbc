import { db } from "@/lib/db";
import { eventHub, sseResponse } from "@/lib/events/hub";
import { streamMayLinkAPhone, streamStillAuthorized } from "@/lib/http/stream-auth";
import { withAuth } from "@/lib/http/with-auth";
import { eventsChannel } from "@/lib/instances/events";
import { linkCodeEvents } from "@/lib/instances/link-codes";
import { redis } from "@/lib/redis";

export const dynamic = "force-dynamic";

// GET /api/events — live events of every number of the caller's location (SSE); the channel is
// the location's own, so nothing of another tenant can appear. The credential is checked again
// while the stream lives (every 30 s and before each QR): revoked or expired ends it. The QR and
// pairing codes waiting now are sent first, on every (re)connect, to admins only.
export const GET = withAuth({ via: ["api-key", "panel-session"], rateLimit: false }, async (req, auth) =>
  sseResponse(
    eventHub(), eventsChannel(auth.locationId), undefined, req.signal,
    { stillValid: () => streamStillAuthorized(req, auth), mayLinkAPhone: () => streamMayLinkAPhone(req, auth) },
    async () => (await linkCodeEvents(db(), redis(), auth.locationId)).map((e) => JSON.stringify(e)),
  ),
);
