import { Queue } from "bullmq";
import { Redis } from "ioredis";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db";
import type { GhlCall } from "@/lib/messages/ghl-post";
import { listDeadLetters, retryDeadLetter } from "@/lib/queue/dead-letters";
import { enqueueGhl, GHL_QUEUE } from "@/lib/queue/ghl-jobs";
import { startGhlSyncWorker } from "@/worker/jobs/ghl-sync";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";

let db: Db;
let redis: Redis;
let queue: Queue;
let consumer: ReturnType<typeof startGhlSyncWorker>;
const calls: string[] = [];
let failuresLeft = 0;

beforeAll(async () => {
  db = createDb(await cloneTemplateDb(dbNameFor(import.meta.filename)), 2);
  // a Redis database of its own: other files flush database 1, and two GHL queue consumers on one
  // database would take each other's jobs
  redis = new Redis(`${process.env.TEST_REDIS_URL}/4`, { maxRetriesPerRequest: null });
  await redis.flushdb();
  // short retries for the test; production uses GHL_JOB_DEFAULTS (8 attempts, 2 s exponential)
  queue = new Queue(GHL_QUEUE, {
    connection: redis,
    defaultJobOptions: { attempts: 3, backoff: { type: "fixed", delay: 50 }, removeOnFail: false },
  });
  const ghl: GhlCall = async (method, path) => {
    calls.push(`${method} ${path}`);
    if (failuresLeft > 0) {
      failuresLeft--;
      throw new Error("GHL answered 429");
    }
    return {} as never;
  };
  consumer = startGhlSyncWorker({
    db,
    connection: redis,
    ghlFor: () => ghl,
    cfg: { appUrl: "http://x", conversationProviderId: "" },
    log: pino({ level: "silent" }),
    concurrency: 1,
  });
});
afterAll(async () => {
  await consumer.stop();
  await queue.close();
  await redis.quit();
  await db.$disconnect();
});

async function until(cond: () => Promise<boolean>, ms = 10_000) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("GHL queue", () => {
  it("retries a failing call and succeeds without losing the job", async () => {
    failuresLeft = 2;
    const job = await enqueueGhl(queue, {
      kind: "status",
      locationId: "locA",
      messageId: "m1",
      ghlMessageId: "g1",
      status: "delivered",
    });
    await until(async () => (await queue.getJob(job.id!))?.finishedOn != null);
    expect(await (await queue.getJob(job.id!))!.isCompleted()).toBe(true);
    expect(calls.filter((c) => c === "PUT /conversations/messages/g1/status")).toHaveLength(3);
  });

  it("enqueues a job once per id (a repeated producer adds nothing)", async () => {
    const a = await enqueueGhl(queue, {
      kind: "status",
      locationId: "locA",
      messageId: "m2",
      ghlMessageId: "g2",
      status: "read",
    });
    const b = await enqueueGhl(queue, {
      kind: "status",
      locationId: "locA",
      messageId: "m2",
      ghlMessageId: "g2",
      status: "read",
    });
    expect(a.id).toBe(b.id);
  });

  it("keeps a job that failed every attempt as a dead letter of its location, replayable, invisible to others", async () => {
    failuresLeft = 3;
    const job = await enqueueGhl(queue, {
      kind: "status",
      locationId: "locA",
      messageId: "m3",
      ghlMessageId: "g3",
      status: "read",
    });
    await until(async () => (await listDeadLetters(queue, "locA")).length > 0);
    const dl = await listDeadLetters(queue, "locA");
    expect(dl).toEqual([
      expect.objectContaining({
        id: job.id,
        kind: "status",
        messageId: "m3",
        failedReason: "GHL answered 429",
        attempts: 3,
      }),
    ]);
    expect(await listDeadLetters(queue, "locB")).toEqual([]);
    await expect(retryDeadLetter(queue, "locB", job.id!)).rejects.toMatchObject({ status: 404 });
    await retryDeadLetter(queue, "locA", job.id!);
    await until(async () => !!(await (await queue.getJob(job.id!))?.isCompleted()));
    expect(await listDeadLetters(queue, "locA")).toEqual([]);
  });
});
