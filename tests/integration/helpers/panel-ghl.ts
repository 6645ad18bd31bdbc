import { GET as callbackRoute } from "@/app/api/oauth/callback/route";
import { GET as installRoute } from "@/app/api/oauth/install/route";
import { installThroughApp, startGhlHarness } from "./ghl-harness";

// A GHL simulator with one company and its locations installed in the app (real OAuth, tokens in
// Postgres), so that the panel's role checks ask GHL's users API for real.
export type SimUser = {
  id: string;
  type: "agency" | "location";
  role: "admin" | "user";
  locationIds?: string[];
  restrictSubAccount?: boolean;
};

export async function startPanelGhl(o: {
  databaseUrl: string;
  companyId: string;
  locations: { id: string; name: string }[];
  bulk?: boolean;
  env?: Record<string, string>;
}) {
  const h = await startGhlHarness({
    databaseUrl: o.databaseUrl,
    routes: { "GET /api/oauth/install": installRoute, "GET /api/oauth/callback": callbackRoute },
    env: o.env,
  });
  const ok = (r: { status: number; body: unknown }, what: string) => {
    if (r.status >= 300) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
    return r;
  };
  ok(await h.control("POST", "/companies", { id: o.companyId, name: `${o.companyId} agency` }), "company");
  for (const l of o.locations) ok(await h.control("POST", "/locations", { ...l, companyId: o.companyId }), "location");
  const install = async (target: { locationId: string } | { companyId: string }) => {
    const done = await installThroughApp(h.appUrl, target);
    if (done.status !== 303 || done.headers.get("location")?.includes("error"))
      throw new Error(`install failed: ${done.headers.get("location")}`);
  };
  if (o.bulk) await install({ companyId: o.companyId });
  else for (const l of o.locations) await install({ locationId: l.id });
  return {
    ...h,
    async user(u: SimUser) {
      return ok(await h.control("POST", "/users", { companyId: o.companyId, ...u }), "user").body;
    },
    async changeUser(id: string, patch: Partial<Omit<SimUser, "id">>) {
      return ok(await h.control("PATCH", `/users/${id}`, patch), "change user").body;
    },
    async deleteUser(id: string) {
      ok(await h.control("DELETE", `/users/${id}`), "delete user");
    },
  };
}
