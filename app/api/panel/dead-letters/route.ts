import { withAuth } from "@/lib/http/with-auth";
import { listDeadLetters } from "@/lib/queue/dead-letters";
import { appGhlQueue } from "@/lib/queue/ghl-queue-handle";

export const dynamic = "force-dynamic";

// GET /api/panel/dead-letters — what could not reach GHL after every retry, for this location.
export const GET = withAuth({ via: ["panel-session"] }, async (_req, auth) =>
  Response.json({ deadLetters: await listDeadLetters(appGhlQueue(), auth.locationId) }),
);
