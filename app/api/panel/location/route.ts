import { isAdminAt, userAccess } from "@/lib/auth/ghl-user-access";
import { switchableLocations } from "@/lib/auth/panel-identity";
import { db } from "@/lib/db";
import { notFound } from "@/lib/errors";
import { withAuth } from "@/lib/http/with-auth";
import { locationSummary } from "@/lib/tenants/location-summary";

export const dynamic = "force-dynamic";

// GET /api/panel/location — the session's location, for agency users where they may switch (as
// GHL's users API allows), and whether the user is an admin here (null: GHL did not answer).
export const GET = withAuth({ via: ["panel-session"] }, async (_req, auth) => {
  const location = await locationSummary(db(), auth.locationId);
  if (!location) throw notFound("location not found");
  const access = await userAccess(auth.identity);
  const locations = await switchableLocations(db(), auth.identity, access);
  const admin = access.status === "ok" ? isAdminAt(access, auth.locationId) : access.status === "gone" ? false : null;
  return Response.json({ location, locations, agency: auth.identity.agency, admin });
});
