import { openLocationStream } from "@/lib/events/location-stream";
import { withAuth } from "@/lib/http/with-auth";

export const dynamic = "force-dynamic";

// GET /api/events — live events of every number of the caller's location (SSE): opening one
// counts as a call against the direct API's rate limits, and a location holds at most
// EVENTS_MAX_STREAMS_PER_LOCATION streams at once (lib/events/location-stream.ts).
export const GET = withAuth({ via: ["api-key", "panel-session"] }, async (req, auth) => openLocationStream(req, auth));
