import { acknowledgeAlert } from "@/lib/alerts/number-alerts";
import { db } from "@/lib/db";
import { withAuth } from "@/lib/http/with-auth";

export const dynamic = "force-dynamic";

// POST /api/panel/alerts/:id/acknowledge — an admin saw the alert: the banner stops showing it
// (for everyone in the location). Admins only: the alert is about managing numbers, which is theirs.
export const POST = withAuth(
  { via: ["panel-session", "api-key"], role: "admin" },
  async (_req, auth, p: { id: string }) => {
    await acknowledgeAlert(db(), auth.locationId, p.id, auth.actor);
    return Response.json({ ok: true });
  },
);
