import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authenticateApiKey, createApiKey, listApiKeys, presentedKey, revokeApiKey } from "@/lib/api-keys/api-keys";
import { createDb, type Db } from "@/lib/db";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";

let db: Db;
beforeAll(async () => {
  db = createDb(await cloneTemplateDb(dbNameFor(import.meta.filename)), 2);
  await db.location.createMany({
    data: [
      { id: "locA", name: "A" },
      { id: "locB", name: "B" },
    ],
  });
});
afterAll(async () => {
  await db.$disconnect();
});

describe("API keys", () => {
  it("are shown once, stored hashed, and authenticate to their own location only", async () => {
    const a = await createApiKey(db, "locA", "n8n");
    expect(a.key).toMatch(/^gwk_[a-z0-9]{8}_[A-Za-z0-9_-]{43}$/);
    expect(a.key.startsWith(`gwk_${a.prefix}_`)).toBe(true);
    const row = await db.apiKey.findUniqueOrThrow({ where: { id: a.id } });
    expect(row.hash).not.toContain(a.key.slice(13));
    expect(JSON.stringify(row)).not.toContain(a.key);

    expect(await authenticateApiKey(db, a.key)).toEqual({ locationId: "locA", keyId: a.id });
    expect(await authenticateApiKey(db, a.key.slice(0, -1) + (a.key.endsWith("A") ? "B" : "A"))).toBeNull();
    expect(await authenticateApiKey(db, "garbage")).toBeNull();
    expect((await db.apiKey.findUniqueOrThrow({ where: { id: a.id } })).lastUsedAt).not.toBeNull();
  });

  it("lists and revokes per location; another location cannot revoke it", async () => {
    const k = await createApiKey(db, "locA", "zapier");
    await expect(revokeApiKey(db, "locB", k.id)).rejects.toMatchObject({ status: 404 });
    expect((await listApiKeys(db, "locA")).map((x) => x.id)).toContain(k.id);
    expect(await listApiKeys(db, "locB")).toEqual([]);
    await revokeApiKey(db, "locA", k.id);
    expect(await authenticateApiKey(db, k.key)).toBeNull();
    expect((await listApiKeys(db, "locA")).map((x) => x.id)).not.toContain(k.id);
    const audit = await db.auditEvent.findMany({ where: { locationId: "locA", action: "api_key.revoked" } });
    expect(audit).toHaveLength(1);
  });

  it("stop working when the location is uninstalled", async () => {
    const k = await createApiKey(db, "locB", "x");
    expect(await authenticateApiKey(db, k.key)).not.toBeNull();
    await db.location.update({ where: { id: "locB" }, data: { installed: false } });
    expect(await authenticateApiKey(db, k.key)).toBeNull();
  });

  it("are read from x-api-key or a Bearer header", () => {
    expect(presentedKey(new Headers({ "x-api-key": " gwk_x " }))).toBe("gwk_x");
    expect(presentedKey(new Headers({ authorization: "Bearer gwk_y" }))).toBe("gwk_y");
    expect(presentedKey(new Headers({ authorization: "Basic abc" }))).toBeNull();
  });
});
