import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db";
import { patchInstanceSettings, readInstanceSettings } from "@/lib/instances/instance-settings";
import { patchLocationSettings, readLocationSettings } from "@/lib/tenants/settings";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";

// The one writer of each JSON settings column (docs/decisions/017-json-settings-one-owner.md):
// patches of different keys made at the same moment all survive, and a write is scoped to its tenant.
let db: Db;

beforeAll(async () => {
  db = createDb(await cloneTemplateDb(dbNameFor(import.meta.filename)), 8);
  await db.location.createMany({
    data: [
      { id: "locA", name: "A", settings: { defaultCountry: "US", legacy: "kept" } },
      { id: "locB", name: "B" },
    ],
  });
  await db.instance.createMany({
    data: [
      { id: "a1", locationId: "locA", name: "wa-01" },
      { id: "b1", locationId: "locB", name: "wa-01" },
    ],
  });
});
afterAll(async () => {
  await db.$disconnect();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("settings writer", () => {
  it("a patch that waits for another's row lock still merges into what that one committed", async () => {
    // the interleaving a read-merge-write loses: B starts while A's write is open but not committed
    let b: Promise<unknown> | undefined;
    await db.$transaction(async (tx) => {
      await patchLocationSettings(tx, "locA", { maxWaitMinutes: 15 });
      b = patchLocationSettings(db, "locA", { typingSimulation: true });
      await sleep(300);
    });
    await b;
    expect(await readLocationSettings(db, "locA")).toMatchObject({
      maxWaitMinutes: 15,
      typingSimulation: true,
      defaultCountry: "US",
    });
    // keys outside the schema are left as they were (a later version may own them)
    expect((await db.location.findUniqueOrThrow({ where: { id: "locA" } })).settings).toMatchObject({ legacy: "kept" });
  });

  it("the same interleaving loses a key with read-merge-write (so the test above can fail)", async () => {
    const naive = async (patch: Record<string, unknown>) => {
      const row = await db.location.findUniqueOrThrow({ where: { id: "locB" } });
      await db.location.update({
        where: { id: "locB" },
        data: { settings: { ...(row.settings as object), ...patch } as object },
      });
    };
    let b: Promise<unknown> | undefined;
    await db.$transaction(async (tx) => {
      await tx.location.update({ where: { id: "locB" }, data: { settings: { maxWaitMinutes: 15 } } });
      b = naive({ typingSimulation: true });
      await sleep(300);
    });
    await b;
    expect(await readLocationSettings(db, "locB")).toMatchObject({ maxWaitMinutes: 60, typingSimulation: true });
    await db.location.update({ where: { id: "locB" }, data: { settings: {} } });
  });

  it("many parallel patches of different keys all survive, on both columns", async () => {
    for (let round = 1; round <= 5; round++) {
      await Promise.all([
        patchLocationSettings(db, "locA", { maxWaitMinutes: 100 + round }),
        patchLocationSettings(db, "locA", { typingSimulation: round % 2 === 0 }),
        patchLocationSettings(db, "locA", { providerMode: round % 2 ? "custom" : "sms" }),
        patchLocationSettings(db, "locA", { defaultInstanceId: `a${round}` }),
        patchLocationSettings(db, "locA", { webhookUrl: `https://hooks.example/${round}` }),
        patchInstanceSettings(db, "locA", "a1", { groups: round % 2 === 1 }),
      ]);
      expect(await readLocationSettings(db, "locA")).toEqual({
        defaultCountry: "US",
        maxWaitMinutes: 100 + round,
        typingSimulation: round % 2 === 0,
        providerMode: round % 2 ? "custom" : "sms",
        defaultInstanceId: `a${round}`,
        webhookUrl: `https://hooks.example/${round}`,
        warmupPercent: 100,
        routeAroundTrouble: false,
        tagRoutes: [],
      });
      expect(await readInstanceSettings(db, "locA", "a1")).toEqual({ groups: round % 2 === 1, historyImportDays: 30 });
    }
  });

  it("returns what is stored, and null clears a key back to its default", async () => {
    expect(await patchLocationSettings(db, "locA", { defaultCountry: null })).toMatchObject({
      defaultCountry: null,
      maxWaitMinutes: 105,
    });
  });

  it("another tenant's number behaves like an unknown one: 404, nothing written", async () => {
    await expect(patchInstanceSettings(db, "locA", "b1", { groups: true })).rejects.toMatchObject({ status: 404 });
    await expect(patchInstanceSettings(db, "locA", "nope", { groups: true })).rejects.toMatchObject({ status: 404 });
    await expect(patchLocationSettings(db, "locGone", { maxWaitMinutes: 5 })).rejects.toMatchObject({ status: 404 });
    expect(await readInstanceSettings(db, "locB", "b1")).toEqual({ groups: false, historyImportDays: 30 });
    expect((await db.instance.findUniqueOrThrow({ where: { id: "b1" } })).settings).toEqual({});
    // and reading it through the wrong tenant gives the defaults, not its settings
    await patchInstanceSettings(db, "locB", "b1", { groups: true });
    expect(await readInstanceSettings(db, "locA", "b1")).toEqual({ groups: false, historyImportDays: 30 });
  });

  it("a stored value that is not an object is replaced, not appended to", async () => {
    await db.$executeRaw`UPDATE "Instance" SET settings = '[1]'::jsonb WHERE id = 'a1'`;
    expect(await patchInstanceSettings(db, "locA", "a1", { groups: true })).toEqual({
      groups: true,
      historyImportDays: 30,
    });
    expect((await db.instance.findUniqueOrThrow({ where: { id: "a1" } })).settings).toEqual({ groups: true });
  });
});
