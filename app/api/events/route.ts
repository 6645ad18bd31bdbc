import { eventHub, sseResponse } from "@/lib/events/hub";
import { withTenant } from "@/lib/http/with-tenant";
import { eventsChannel } from "@/lib/instances/events";

export const dynamic = "force-dynamic";

// GET /api/events — live events of every number of the caller's location (SSE); the channel is
// the location's own, so nothing of another tenant can appear.
export const GET = withTenant(async (req, auth) => sseResponse(eventHub(), eventsChannel(auth.locationId), undefined, req.signal));
