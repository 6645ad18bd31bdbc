import { Redis } from "ioredis";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DELETE as cancelRoute, GET as getHistory, PUT as putHistory } from "@/app/api/instances/[id]/history/route";
import { GET as listInstances } from "@/app/api/instances/route";
import { createApiKey } from "@/lib/api-keys/api-keys";
import { db } from "@/lib/db";
import { noteHistoryChunk } from "@/lib/history/history-sync";
import { recordInbound } from "@/lib/messages/record-inbound";
import { startHistoryImport } from "@/worker/jobs/history-import";
import { params, req, useAppEnv } from "./helpers/app-env";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";
import { until } from "./helpers/wa-fixture";

// The history import at the API edge and its consumer without WhatsApp: progress in
// GET /api/instances and GET …/history (chats and messages done of total), the per-number
// setting, cancelling (nothing posted after it), and tenancy (another location's number is 404).
let restore: () => Promise<void>;
let keyA: string;
let keyB: string;
let redis: Redis;
const posted: string[] = [];

beforeAll(async () => {
  restore = useAppEnv({ databaseUrl: await cloneTemplateDb(dbNameFor(import.meta.filename)) });
  redis = new Redis(`${process.env.TEST_REDIS_URL}/1`);
  await redis.flushdb();
  await db().location.createMany({
    data: [
      { id: "locA", name: "A" },
      { id: "locB", name: "B" },
    ],
  });
  await db().instance.create({ data: { id: "iA", locationId: "locA", name: "wa-01" } });
  keyA = (await createApiKey(db(), "locA", "a")).key;
  keyB = (await createApiKey(db(), "locB", "b")).key;
  // 3 chats × 4 messages from history, not yet posted
  for (let c = 0; c < 3; c++) {
    for (let m = 0; m < 4; m++) {
      await recordInbound(db(), {
        locationId: "locA",
        instanceId: "iA",
        waMessageId: `H-${c}-${m}`,
        phone: `1555222000${c}`,
        jid: `1555222000${c}@s.whatsapp.net`,
        fromMe: m % 2 === 1,
        type: "text",
        text: `c${c} m${m}`,
        at: new Date(Date.now() - 86_400_000 + m * 1000),
        history: true,
      });
    }
  }
  await noteHistoryChunk(db(), { locationId: "locA", instanceId: "iA" }, { stored: 12, complete: false, days: 30 });
});
afterAll(async () => {
  await redis.quit();
  await restore();
});

const h = (key: string) => ({ "x-api-key": key });
const history = async (key = keyA) =>
  getHistory(req("/api/instances/iA/history", { headers: h(key) }), params({ id: "iA" }));

describe("the history import's API", { retry: 0 }, () => {
  it("shows the setting and the progress, in the list too", async () => {
    const r = await history();
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({
      days: 30,
      progress: { state: "SYNCING", percent: 0, chats: { done: 0, total: 3 }, messages: { done: 0, total: 12 } },
    });
    const list = await (await listInstances(req("/api/instances", { headers: h(keyA) }), params({}))).json();
    expect(list.instances[0].historyImport).toMatchObject({ state: "SYNCING", messages: { done: 0, total: 12 } });
  });

  it("another location's number is unknown", async () => {
    expect((await history(keyB)).status).toBe(404);
    expect(
      (
        await putHistory(
          req("/api/instances/iA/history", { method: "PUT", json: { days: 0 }, headers: h(keyB) }),
          params({ id: "iA" }),
        )
      ).status,
    ).toBe(404);
  });

  it("sets the window per number (0 = off), refusing what is out of range", async () => {
    const bad = await putHistory(
      req("/api/instances/iA/history", { method: "PUT", json: { days: 9999 }, headers: h(keyA) }),
      params({ id: "iA" }),
    );
    expect(bad.status).toBe(400);
    const ok = await putHistory(
      req("/api/instances/iA/history", { method: "PUT", json: { days: 7 }, headers: h(keyA) }),
      params({ id: "iA" }),
    );
    expect(await ok.json()).toMatchObject({ days: 7 });
    expect((await db().instance.findUniqueOrThrow({ where: { id: "iA" } })).settings).toMatchObject({
      historyImportDays: 7,
    });
  });

  it("imports chat by chat, and a cancel stops it: nothing posted after it", { timeout: 30_000 }, async () => {
    // GHL takes `allowed` posts, and holds the next one until allowed again
    let allowed = 0;
    const ghl = async (_m: string, path: string, body?: unknown) => {
      if (path === "/conversations/messages/inbound") {
        while (posted.length >= allowed) await new Promise((r) => setTimeout(r, 5));
        posted.push((body as { message: string }).message);
        return { messageId: `g-${posted.length}` };
      }
      if (path.startsWith("/contacts/search")) return { contact: null };
      if (path.startsWith("/conversations/search")) return { conversations: [] };
      if (path === "/conversations/") return { conversation: { id: `conv-${path}` } };
      return { contact: { id: `ct-${Math.random()}` } };
    };
    const importer = startHistoryImport({
      db: db(),
      redis,
      ghlFor: () => ghl as never,
      cfg: { appUrl: "http://x", conversationProviderId: "" },
      log: pino({ level: process.env.HS_DEBUG ? "debug" : "silent" }),
      workerId: "t",
      everyMs: 100,
      quietMs: 0,
    });
    try {
      // 5 through, the 6th held in flight while cancelling
      allowed = 5;
      await until("5 posts", async () => posted.length === 5, 10_000, 10);
      // one chat after another, each in its order
      const first = posted[0].split(" ")[0];
      expect(posted.slice(0, 4)).toEqual([0, 1, 2, 3].map((m) => `${first} m${m}`));
      expect(posted[4]).toMatch(/^c\d m0$/);
      expect(posted[4].split(" ")[0]).not.toBe(first);
      const c = await cancelRoute(
        req("/api/instances/iA/history", { method: "DELETE", headers: h(keyA) }),
        params({ id: "iA" }),
      );
      expect(await c.json()).toMatchObject({
        cancelled: true,
        progress: { state: "CANCELLED", chats: { done: 3, total: 3 } },
      });
      allowed = 100;
      await new Promise((r) => setTimeout(r, 500));
      // the one in flight lands; nothing after it
      expect(posted.length).toBeLessThanOrEqual(6);
      expect(
        await db().message.count({ where: { instanceId: "iA", history: true, status: "FAILED" } }),
      ).toBeGreaterThanOrEqual(6);
      expect((await (await history()).json()).progress.state).toBe("CANCELLED");
    } finally {
      allowed = 100;
      await importer.stop();
    }
  });
});
