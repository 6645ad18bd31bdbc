import { Queue } from "bullmq";
import { Redis } from "ioredis";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db";
import type { GhlCall } from "@/lib/messages/ghl-post";
import { GHL_QUEUE } from "@/lib/queue/ghl-jobs";
import { startGhlSyncWorker } from "@/worker/jobs/ghl-sync";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";
import { until } from "./helpers/wa-fixture";

// A status GHL never acknowledged is not lost with Redis: Postgres knows what GHL took
// (ghlStatus), and the sweep queues the rest again — after Redis was emptied, for instance.
let db: Db;
let redis: Redis;
let queue: Queue;
let consumer: ReturnType<typeof startGhlSyncWorker> | undefined;
const puts: string[] = [];

beforeAll(async () => {
  db = createDb(await cloneTemplateDb(dbNameFor(import.meta.filename)), 2);
  redis = new Redis(`${process.env.TEST_REDIS_URL}/8`, { maxRetriesPerRequest: null });
  await redis.flushdb();
  queue = new Queue(GHL_QUEUE, {
    connection: redis,
    defaultJobOptions: { attempts: 3, backoff: { type: "fixed", delay: 50 } },
  });
  await db.location.create({ data: { id: "locS", name: "S" } });
  await db.location.create({ data: { id: "locT", name: "T" } });
});
afterAll(async () => {
  await consumer?.stop();
  await queue.close();
  await redis.quit();
  await db.$disconnect();
});

const old = new Date(Date.now() - 5 * 60_000);
async function outbound(
  id: string,
  locationId: string,
  status: "DELIVERED" | "READ" | "FAILED" | "SENT",
  ghlStatus: "DELIVERED" | "READ" | null,
) {
  await db.message.create({
    data: {
      id,
      locationId,
      direction: "OUTBOUND",
      source: "GHL",
      ghlMessageId: `G-${id}`,
      status,
      ghlStatus,
      error: status === "FAILED" ? "WhatsApp refused the message (error 463)" : null,
    },
  });
  await db.$executeRaw`UPDATE "Message" SET "updatedAt" = ${old} WHERE id = ${id}`;
}

describe("statuses GHL never acknowledged", () => {
  it("are pushed again by the sweep, each once, and then remembered", async () => {
    await outbound("m1", "locS", "DELIVERED", null); // its job was lost with Redis
    await outbound("m2", "locS", "READ", "DELIVERED"); // GHL has delivered, not read
    await outbound("m3", "locT", "FAILED", null);
    await outbound("m4", "locS", "READ", "READ"); // all done
    await outbound("m5", "locS", "SENT", null); // nothing to tell GHL yet
    const ghl =
      (locationId: string): GhlCall =>
      async (method, path, body) => {
        puts.push(`${locationId} ${method} ${path} ${JSON.stringify(body)}`);
        return {} as never;
      };
    consumer = startGhlSyncWorker({
      db,
      connection: redis,
      queue,
      ghlFor: ghl,
      cfg: { appUrl: "http://x", conversationProviderId: "" },
      log: pino({ level: "silent" }),
      concurrency: 2,
      sweepEveryMs: 3_600_000,
    });
    await until("three statuses pushed", async () => puts.length >= 3, 15_000);
    await until(
      "remembered",
      async () =>
        (await db.message.count({ where: { ghlStatus: { not: null }, id: { in: ["m1", "m2", "m3"] } } })) === 3,
      5000,
    );
    expect(puts.sort()).toEqual([
      `locS PUT /conversations/messages/G-m1/status {"status":"delivered"}`,
      `locS PUT /conversations/messages/G-m2/status {"status":"read"}`,
      `locT PUT /conversations/messages/G-m3/status {"status":"failed","error":{"code":"1","type":"saas","message":"WhatsApp refused the message (error 463)"}}`,
    ]);
    const rows = await db.message.findMany({ orderBy: { id: "asc" }, select: { id: true, ghlStatus: true } });
    expect(rows).toEqual([
      { id: "m1", ghlStatus: "DELIVERED" },
      { id: "m2", ghlStatus: "READ" },
      { id: "m3", ghlStatus: "FAILED" },
      { id: "m4", ghlStatus: "READ" },
      { id: "m5", ghlStatus: null },
    ]);
    // a second sweep finds nothing to push
    expect(await consumer.sweep()).toBe(0);
  });
});
