import { ghlId, stableId } from "./ids";
import { type Company, type Location, nowIso, type SimState, type User } from "./state";

// Companies, locations and their users: the part of GHL the app only reads about.

export function createCompany(state: SimState, input: { id?: string; name: string }): Company {
  const company: Company = { id: input.id ?? ghlId(), name: input.name, createdAt: nowIso() };
  state.companies.set(company.id, company);
  const admin: User = {
    id: stableId(`${company.id.slice(0, 8)}Adm`),
    companyId: company.id,
    name: `${company.name} Admin`,
    email: `admin@${slug(company.name)}.example`,
    role: "admin",
    type: "agency",
    locationIds: [],
    restrictSubAccount: false,
  };
  state.users.set(admin.id, admin);
  return company;
}

export function createLocation(
  state: SimState,
  input: { id?: string; name: string; companyId: string; address?: string },
): Location {
  const location: Location = {
    id: input.id ?? ghlId(),
    companyId: input.companyId,
    name: input.name,
    address: input.address ?? "1 Sandbox Way, Springfield, IL 62701, USA",
    createdAt: nowIso(),
  };
  state.locations.set(location.id, location);
  const base = location.id.slice(0, 8);
  const users: User[] = [
    {
      id: stableId(`${base}LAdm`),
      companyId: location.companyId,
      locationId: location.id,
      name: `${location.name} Admin`,
      email: `admin@${slug(location.name)}.example`,
      role: "admin",
      type: "location",
      locationIds: [location.id],
      restrictSubAccount: false,
    },
    {
      id: stableId(`${base}LUsr`),
      companyId: location.companyId,
      locationId: location.id,
      name: `${location.name} User`,
      email: `user@${slug(location.name)}.example`,
      role: "user",
      type: "location",
      locationIds: [location.id],
      restrictSubAccount: false,
    },
  ];
  for (const u of users) state.users.set(u.id, u);
  return location;
}

export const SEED = {
  companyId: stableId("SandboxAgency"),
  locations: [
    { id: stableId("SunriseDental"), name: "Sunrise Dental", address: "12 Sunrise Blvd, Austin, TX 78701, USA" },
    { id: stableId("HarborRealty"), name: "Harbor Realty", address: "48 Harbor St, Boston, MA 02110, USA" },
    { id: stableId("MapleFitness"), name: "Maple Fitness", address: "7 Maple Ave, Denver, CO 80202, USA" },
  ],
} as const;

export function seed(state: SimState): void {
  createCompany(state, { id: SEED.companyId, name: "Sandbox Agency" });
  for (const l of SEED.locations) createLocation(state, { ...l, companyId: SEED.companyId });
}

function slug(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-|-$/g, "") || "sandbox"
  );
}
