import { Redis } from "ioredis";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { raiseNumberAlert } from "@/lib/alerts/raise-number-alert";
import { createDb, type Db } from "@/lib/db";
import { StatusWriter } from "@/worker/whatsapp/status-writer";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";

// The status writer's alert rules on a real Postgres: a reconnect longer than the grace alerts
// DISCONNECTED once, however many statuses it writes meanwhile; one that ends within the grace
// alerts nothing; a new disconnection after the number was ONLINE again is a new alert; and the
// health module's RESTRICTED through raiseNumberAlert is deduplicated by its `since`.
const GRACE = 400;
let db: Db;
let redis: Redis;
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  db = createDb(await cloneTemplateDb(dbNameFor(import.meta.filename)), 4);
  redis = new Redis(`${process.env.TEST_REDIS_URL}/1`);
  await db.location.create({ data: { id: "locG", name: "G" } });
  await db.instance.createMany({
    data: [
      { id: "g1", locationId: "locG", name: "wa-01" },
      { id: "g2", locationId: "locG", name: "wa-02" },
    ],
  });
});
afterAll(async () => {
  await redis.quit();
  await db.$disconnect();
});

const writer = (instanceId: string) =>
  new StatusWriter(db, redis, { instanceId, locationId: "locG" }, pino({ level: "silent" }), GRACE);
const alerts = (instanceId: string) =>
  db.numberAlert.findMany({ where: { instanceId }, orderBy: { createdAt: "asc" } });

describe("alerts from the status writer", () => {
  it("a reconnect that ends within the grace raises nothing", async () => {
    const w = writer("g1");
    await w.set("ONLINE", { connectedAt: new Date() });
    await w.set("RECONNECTING", { lastError: "connection closed (428)" });
    await wait(GRACE / 2);
    await w.set("ONLINE", { connectedAt: new Date() });
    await wait(GRACE * 2);
    expect(await alerts("g1")).toEqual([]);
  });

  it("a reconnect past the grace raises DISCONNECTED once, with the last error", async () => {
    const w = writer("g1");
    await w.set("RECONNECTING", { lastError: "connection closed (428)" });
    await wait(GRACE / 2);
    await w.set("RECONNECTING", { lastError: "connection timed out" });
    await w.set("FAILED", { lastError: "connection timed out; 5 attempts in a row, still retrying" });
    await wait(GRACE * 3);
    // a second writer (another worker, after a handover) sees the same outage
    const w2 = writer("g1");
    await w2.set("RECONNECTING", { lastError: "connection closed" });
    await wait(GRACE * 3);
    const rows = await alerts("g1");
    expect(rows.map((r) => [r.status, r.reason])).toEqual([
      ["DISCONNECTED", "connection timed out; 5 attempts in a row, still retrying"],
    ]);
  });

  it("ONLINE again, then away again: a new transition, a new alert; a logout on top, another", async () => {
    const w = writer("g1");
    await w.set("ONLINE", { connectedAt: new Date() });
    await w.set("RECONNECTING", { lastError: "connection closed (428)" });
    await wait(GRACE * 3);
    await w.set("LOGGED_OUT", { lastError: "the phone unlinked this number; scan a new QR" });
    await w.set("LOGGED_OUT", { lastError: "the phone unlinked this number; scan a new QR" });
    expect((await alerts("g1")).map((r) => r.status)).toEqual(["DISCONNECTED", "DISCONNECTED", "LOGGED_OUT"]);
  });

  it("a person's stop during the grace raises nothing", async () => {
    const w = writer("g2");
    await w.set("ONLINE", { connectedAt: new Date() });
    await w.set("RECONNECTING", { lastError: "connection closed (428)" });
    await w.set("OFFLINE", { lastError: null, desiredStopped: true });
    await wait(GRACE * 2);
    expect(await alerts("g2")).toEqual([]);
  });

  it("RESTRICTED from the health module: once per restriction, again after a new one", async () => {
    const began = new Date();
    const a = {
      locationId: "locG",
      instanceId: "g2",
      status: "RESTRICTED" as const,
      reason: "error acks 463 on 30 % of today's sends",
    };
    expect(await raiseNumberAlert(db, { ...a, since: began })).not.toBeNull();
    expect(await raiseNumberAlert(db, { ...a, since: began })).toBeNull();
    await wait(20);
    expect(await raiseNumberAlert(db, { ...a, since: new Date() })).not.toBeNull();
    // another location's number is unknown here
    expect(await raiseNumberAlert(db, { ...a, locationId: "other" })).toBeNull();
    expect((await alerts("g2")).map((r) => [r.status, r.reason])).toEqual([
      ["RESTRICTED", a.reason],
      ["RESTRICTED", a.reason],
    ]);
  });
});
