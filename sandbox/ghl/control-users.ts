import { z } from "zod";
import type { ControlRoute } from "./control-kit";
import { ghlId } from "./ids";
import type { Sim } from "./sim";
import type { User } from "./state";
import { userDto } from "./users-routes";

// Users and their roles, as an agency owner edits them in GHL's settings: add a user, change their
// role or sub-accounts, delete them. What the app then reads through GET /users/{userId} changes at once.

const id = z.string().regex(/^[A-Za-z0-9]{1,40}$/);
const fields = {
  name: z.string().min(1).max(200).optional(),
  email: z.string().min(3).max(320).optional(),
  role: z.enum(["admin", "user"]).optional(),
  type: z.enum(["agency", "location"]).optional(),
  locationIds: z.array(z.string().min(1)).max(1000).optional(),
  restrictSubAccount: z.boolean().optional(),
};

function problem(sim: Sim, u: User): string | undefined {
  for (const l of u.locationIds) {
    if (sim.state.locations.get(l)?.companyId !== u.companyId)
      return `location ${l} is not a location of company ${u.companyId}`;
  }
  if (u.type === "location" && !u.locationIds.length) return "a location user needs at least one of locationIds";
  return undefined;
}

export const usersControlRoutes: ControlRoute[] = [
  [
    "POST",
    "/__sandbox/users",
    async (c) => {
      const b = await c.body(z.object({ id: id.optional(), companyId: z.string(), ...fields }));
      if (!b) return;
      const s = c.sim.state;
      if (!s.companies.has(b.companyId))
        return c.json(404, { error: { code: "not_found", message: "unknown companyId" } });
      if (b.id && s.users.has(b.id)) return c.json(409, { error: { code: "exists", message: "user exists" } });
      const uid = b.id ?? ghlId();
      const u: User = {
        id: uid,
        companyId: b.companyId,
        name: b.name ?? `User ${uid.slice(0, 6)}`,
        email: b.email ?? `${uid.toLowerCase()}@sandbox.example`,
        role: b.role ?? "user",
        type: b.type ?? "location",
        locationIds: b.locationIds ?? [],
        restrictSubAccount: b.restrictSubAccount ?? false,
      };
      u.locationId = u.type === "location" ? u.locationIds[0] : undefined;
      const bad = problem(c.sim, u);
      if (bad) return c.json(400, { error: { code: "bad_input", message: bad } });
      s.users.set(u.id, u);
      c.json(201, { ...u, roles: userDto(u).roles });
    },
  ],
  [
    "PATCH",
    "/__sandbox/users/:id",
    async (c) => {
      const u = c.sim.state.users.get(c.params.id);
      if (!u) return c.json(404, { error: { code: "not_found", message: "unknown user" } });
      const b = await c.body(z.object(fields));
      if (!b) return;
      const next: User = { ...u, ...Object.fromEntries(Object.entries(b).filter(([, v]) => v !== undefined)) };
      next.locationId = next.type === "location" ? next.locationIds[0] : undefined;
      const bad = problem(c.sim, next);
      if (bad) return c.json(400, { error: { code: "bad_input", message: bad } });
      c.sim.state.users.set(u.id, next);
      c.json(200, { ...next, roles: userDto(next).roles });
    },
  ],
  [
    "DELETE",
    "/__sandbox/users/:id",
    (c) => {
      if (!c.sim.state.users.delete(c.params.id))
        return c.json(404, { error: { code: "not_found", message: "unknown user" } });
      c.json(200, { deleted: true });
    },
  ],
];
