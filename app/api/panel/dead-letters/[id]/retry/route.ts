import { withAuth } from "@/lib/http/with-auth";
import { retryDeadLetter } from "@/lib/queue/dead-letters";
import { appGhlQueue } from "@/lib/queue/ghl-queue-handle";

export const dynamic = "force-dynamic";

// POST /api/panel/dead-letters/:id/retry — put a failed GHL job back in the queue.
export const POST = withAuth({ via: ["panel-session"] }, async (_req, auth, p: { id: string }) => {
  await retryDeadLetter(appGhlQueue(), auth.locationId, p.id);
  return Response.json({ ok: true });
});
