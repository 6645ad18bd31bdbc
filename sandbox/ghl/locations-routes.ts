import type { ApiRoute } from "./api-pipeline";

// GHL's sub-account API, the part the app reads (openapi/locations.json `get-location`): a
// location's name and details, for a location-level install (scope locations.readonly). A Location
// token reads its own location; a Company token the locations of its company.

export const locationsRoutes: Record<string, ApiRoute> = {
  "get-location": {
    auth: "Location|Company",
    handle(ctx) {
      const g = ctx.grant!;
      const id = ctx.pathParams.locationId;
      const loc = ctx.sim.state.locations.get(id);
      ctx.locationId = g.locationId;
      if (g.userType === "Location" && g.locationId !== id)
        return ctx.fail(403, "The token does not have access to this location.");
      if (!loc) return ctx.fail(400, "Location not found");
      if (loc.companyId !== g.companyId) return ctx.fail(403, "The token does not have access to this location.");
      // GetLocationByIdSchema: what the simulator knows of it
      ctx.reply(200, {
        location: { id: loc.id, companyId: loc.companyId, name: loc.name, address: loc.address, timezone: "UTC" },
      });
    },
  },
};
