import { openAlerts } from "@/lib/alerts/number-alerts";
import { db } from "@/lib/db";
import { withAuth } from "@/lib/http/with-auth";

export const dynamic = "force-dynamic";

// GET /api/panel/alerts — the location's alerts not yet acknowledged (the panel's banner).
export const GET = withAuth({ via: ["panel-session", "api-key"] }, async (_req, auth) =>
  Response.json({ alerts: await openAlerts(db(), auth.locationId) }),
);
