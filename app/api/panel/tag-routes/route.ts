import { audit } from "@/lib/audit";
import { db } from "@/lib/db";
import { jsonBody } from "@/lib/http/handler";
import { withAuth } from "@/lib/http/with-auth";
import { tagRoutesBodySchema } from "@/lib/routing/tag-routes";
import { readTagRoutes, replaceTagRoutes } from "@/lib/routing/tag-routes-settings";

export const dynamic = "force-dynamic";

// GET/PUT /api/panel/tag-routes — the location's tag → number table (lib/routing/tag-routes.ts):
// read by any user of the location, replaced whole by its admins.
export const GET = withAuth({ via: ["panel-session", "api-key"] }, async (_req, auth) =>
  Response.json({ routes: await readTagRoutes(db(), auth.locationId) }),
);

export const PUT = withAuth({ via: ["panel-session", "api-key"], role: "admin" }, async (req, auth) => {
  const b = tagRoutesBodySchema.parse(await jsonBody(req));
  const routes = await replaceTagRoutes(db(), auth.locationId, b.routes);
  await audit(db(), auth, "tag-routes.updated", { count: routes.length });
  return Response.json({ routes });
});
