import { switchableLocations } from "@/lib/auth/panel-identity";
import { withLocation } from "@/lib/auth/panel-session";
import { db } from "@/lib/db";
import { notFound } from "@/lib/errors";
import { locationSummary } from "@/lib/tenants/location-summary";

export const dynamic = "force-dynamic";

// GET /api/panel/location — the session's location and, for agency users, where they may switch.
export const GET = withLocation(async (_req, auth) => {
  const location = await locationSummary(db(), auth.locationId);
  if (!location) throw notFound("location not found");
  const locations = await switchableLocations(db(), auth.identity);
  return Response.json({ location, locations, agency: auth.identity.agency });
});
