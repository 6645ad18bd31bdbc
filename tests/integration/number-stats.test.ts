import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GET as listInstances } from "@/app/api/instances/route";
import { createDb, type Db } from "@/lib/db";
import { numberStats } from "@/lib/instances/number-stats";
import { params, req, useAppEnv } from "./helpers/app-env";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";
import { ghlSays, identity, panelCookie } from "./helpers/panel-cookie";

// Per-number stats for today (UTC), as the panel and GET /api/instances show them: counted from
// the Message rows, scoped to the location, with the governor's allowance for the number's age.
let db: Db;
let redis: Redis;
let restore: () => Promise<void>;
const now = new Date();
const today = (h: number) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), h));
const yesterday = new Date(today(0).getTime() - 3600_000);
const hour = Math.min(now.getUTCHours(), 1);

beforeAll(async () => {
  const url = await cloneTemplateDb(dbNameFor(import.meta.filename));
  restore = useAppEnv({ databaseUrl: url });
  db = createDb(url, 4);
  redis = new Redis(`${process.env.TEST_REDIS_URL}/1`);
  await redis.flushdb();
  await db.location.createMany({
    data: [
      { id: "locS", name: "S", settings: { warmupPercent: 50 } },
      { id: "locT", name: "T" },
    ],
  });
  // wa-01 linked 10 days ago (week 2: 40 new chats, 400 messages; at 50 %: 20 and 200); wa-02 never linked
  await db.instance.createMany({
    data: [
      { id: "s1", locationId: "locS", name: "wa-01", firstLinkedAt: new Date(now.getTime() - 10 * 86_400_000) },
      { id: "s2", locationId: "locS", name: "wa-02" },
      { id: "t1", locationId: "locT", name: "wa-01" },
    ],
  });
  const m = (o: Record<string, unknown>) => ({ direction: "OUTBOUND", source: "GHL", status: "SENT", ...o }) as never;
  await db.message.createMany({
    data: [
      m({ locationId: "locS", instanceId: "s1", sentAt: today(hour), createdAt: today(hour), newChat: true }),
      m({ locationId: "locS", instanceId: "s1", sentAt: today(hour), createdAt: today(hour) }),
      m({ locationId: "locS", instanceId: "s1", sentAt: yesterday, createdAt: yesterday }), // yesterday: not today's
      m({ locationId: "locS", instanceId: "s1", direction: "INBOUND", status: "RECEIVED", createdAt: today(hour) }),
      m({ locationId: "locS", instanceId: "s1", status: "FAILED", createdAt: today(hour) }),
      // another location's number with the same name: never counted here
      m({ locationId: "locT", instanceId: "t1", sentAt: today(hour), createdAt: today(hour) }),
    ],
  });
});
afterAll(async () => {
  await redis.quit();
  await db.$disconnect();
  await restore();
});

describe("number stats", () => {
  it("counts today's sends, receipts and failures per number, with the allowance used", async () => {
    const s = await numberStats(db, "locS", now);
    expect(s.get("s1")).toEqual({
      sentToday: 2,
      receivedToday: 1,
      failedToday: 1,
      allowance: { newChats: { used: 1, limit: 20 }, messages: { used: 2, limit: 200 } },
      lastActivityAt: today(hour).toISOString(),
    });
    expect(s.get("s2")).toEqual({
      sentToday: 0,
      receivedToday: 0,
      failedToday: 0,
      allowance: { newChats: { used: 0, limit: 10 }, messages: { used: 0, limit: 100 } },
      lastActivityAt: null,
    });
    expect(s.has("t1")).toBe(false);
  });

  it("GET /api/instances carries them for the caller's location only", async () => {
    const who = identity({ locationId: "locT", companyId: "coT" });
    await ghlSays(redis, who);
    const res = await listInstances(req("/api/instances", { headers: { cookie: await panelCookie(who) } }), params({}));
    expect(res.status).toBe(200);
    const body = (await res.json()) as { instances: { instanceId: string; stats: { sentToday: number } }[] };
    expect(body.instances.map((i) => [i.instanceId, i.stats.sentToday])).toEqual([["wa-01", 1]]);
  });
});
