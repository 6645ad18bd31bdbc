import type { ApiRoute } from "./api-pipeline";
import type { Location, SimState, User } from "./state";

// GHL's users API, the part the app reads (openapi/users.json `get-user`): who a panel user is, and
// what they may see. Either kind of token may ask (users.readonly), each within its own reach: a
// Company token the users of its company, a Location token the users who can open its location.

/** Who can open a location, as GHL decides it: agency admins the whole company, everyone else `locationIds`. */
export function userCanSee(state: SimState, u: User, locationId: string): boolean {
  const loc: Location | undefined = state.locations.get(locationId);
  if (!loc || loc.companyId !== u.companyId) return false;
  if (u.type === "agency" && u.role === "admin" && !u.restrictSubAccount) return true;
  return u.locationIds.includes(locationId);
}

/** UserSuccessfulResponseDto. `roles.type` is GHL's: "agency" or "account" (a sub-account user). */
export function userDto(u: User) {
  const [firstName, ...rest] = u.name.split(" ");
  return {
    id: u.id,
    name: u.name,
    firstName,
    lastName: rest.join(" "),
    email: u.email,
    phone: "",
    extension: "",
    roles: {
      type: u.type === "agency" ? "agency" : "account",
      role: u.role,
      locationIds: [...u.locationIds],
      restrictSubAccount: u.restrictSubAccount,
    },
  };
}

export const usersRoutes: Record<string, ApiRoute> = {
  "get-user": {
    auth: "Location|Company",
    handle(ctx) {
      const g = ctx.grant!;
      const u = ctx.sim.state.users.get(ctx.pathParams.userId);
      ctx.locationId = g.locationId;
      // a deleted user, or one of another company, is unknown to this token (GHL's exact answer unconfirmed)
      if (!u || u.companyId !== g.companyId) return ctx.fail(400, "User not found");
      if (g.userType === "Location" && !userCanSee(ctx.sim.state, u, g.locationId!)) {
        return ctx.fail(403, "The token does not have access to this location.");
      }
      ctx.reply(200, userDto(u));
    },
  },
};
