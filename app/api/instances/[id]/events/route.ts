import { db } from "@/lib/db";
import { openLocationStream } from "@/lib/events/location-stream";
import { withAuth } from "@/lib/http/with-auth";
import { get } from "@/lib/instances/instances";

export const dynamic = "force-dynamic";

// GET /api/instances/:id/events — live status/QR/pairing-code events of one number (SSE), under
// the same rules as /api/events (lib/events/location-stream.ts).
export const GET = withAuth({ via: ["api-key", "panel-session"] }, async (req, auth, p: { id: string }) => {
  await get(db(), auth.locationId, p.id); // 404 for another tenant's id
  return openLocationStream(req, auth, p.id);
});
