import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SEED } from "./directory";
import type { GhlSimulator } from "./server";
import { api, contractProblems, control, install, startFakeApp, startSim } from "./test-kit";

// Create, read and update contacts as GHL's contacts API does, including a contact without a
// phone (a WhatsApp contact known only by its LID) that gets its phone later.
const [sunrise, harbor] = SEED.locations.map((l) => l.id);
let sim: GhlSimulator;
let app: Awaited<ReturnType<typeof startFakeApp>>;
let token: string;

beforeAll(async () => {
  app = await startFakeApp();
  sim = await startSim({ appBaseUrl: app.url });
  token = (await install(sim, { locationId: sunrise })).tokens.body.access_token;
});
afterAll(async () => {
  await sim.close();
  await app.close();
});

describe("contacts", () => {
  it("creates a contact with a name only, and gives it a phone later (the same contact)", async () => {
    const c = await api(sim, "POST", "/contacts/", {
      token,
      json: { locationId: sunrise, name: "Lia Souza", source: "WhatsApp" },
    });
    expect(c.status).toBe(201);
    expect(c.body.contact).toMatchObject({ name: "Lia Souza", firstName: "Lia" });
    expect(c.body.contact.phone).toBeUndefined();
    const id = c.body.contact.id as string;
    const u = await api(sim, "PUT", `/contacts/${id}`, { token, json: { phone: "+15550101010" } });
    expect(u.status).toBe(200);
    expect(u.body).toMatchObject({ succeded: true, contact: { id, phone: "+15550101010", name: "Lia Souza" } });
    expect((await api(sim, "GET", `/contacts/${id}`, { token })).body.contact).toMatchObject({
      id,
      phone: "+15550101010",
    });
    const dup = await api(sim, "GET", `/contacts/search/duplicate?locationId=${sunrise}&number=%2B15550101010`, {
      token,
    });
    expect(dup.body.contact.id).toBe(id);
    const all = (await control(sim, "GET", `/locations/${sunrise}/contacts`)).body.contacts as { phone?: string }[];
    expect(all.filter((x) => x.phone === "+15550101010")).toHaveLength(1);
  });

  it("refuses what GHL refuses: a body without locationId, a phone another contact has, another location's contact", async () => {
    expect((await api(sim, "POST", "/contacts/", { token, json: { name: "No location" } })).status).toBe(422);
    const a = await api(sim, "POST", "/contacts/", { token, json: { locationId: sunrise, phone: "+15550202020" } });
    const again = await api(sim, "POST", "/contacts/", { token, json: { locationId: sunrise, phone: "+15550202020" } });
    expect(again.status).toBe(400);
    expect(again.body.meta).toMatchObject({ contactId: a.body.contact.id, matchingField: "phone" });
    const b = await api(sim, "POST", "/contacts/", { token, json: { locationId: sunrise, name: "B" } });
    expect(
      (await api(sim, "PUT", `/contacts/${b.body.contact.id}`, { token, json: { phone: "+15550202020" } })).status,
    ).toBe(400);
    expect((await api(sim, "PUT", `/contacts/${b.body.contact.id}`, { token, json: { phone: 5 } })).status).toBe(422);
    expect((await api(sim, "PUT", "/contacts/nope", { token, json: { phone: "+15550303030" } })).status).toBe(400);
    const harborToken = (await install(sim, { locationId: harbor })).tokens.body.access_token;
    expect(
      (await api(sim, "PUT", `/contacts/${b.body.contact.id}`, { token: harborToken, json: { name: "x" } })).status,
    ).toBe(403);
    expect((await api(sim, "POST", "/contacts/", { token: harborToken, json: { locationId: sunrise } })).status).toBe(
      403,
    );
  });

  it("sends a Delivery URL call without a phone for a contact that has none", async () => {
    const c = await api(sim, "POST", "/contacts/", { token, json: { locationId: sunrise, name: "Only LID" } });
    const r = await control(sim, "POST", `/locations/${sunrise}/messages`, {
      contactId: c.body.contact.id,
      message: "Hello",
    });
    expect(r.status).toBe(200);
    const sent = await app.waitFor((x) => x.json?.message === "Hello");
    expect(sent.json).toMatchObject({ contactId: c.body.contact.id, locationId: sunrise });
    expect(sent.json.phone).toBeUndefined();
    expect((await control(sim, "POST", `/locations/${sunrise}/messages`, { message: "to nobody" })).status).toBe(400);
  });

  it("answers every call as the OpenAPI files say", async () => {
    expect(await contractProblems(sim)).toEqual([]);
  });
});
