import { Queue } from "bullmq";
import { Redis } from "ioredis";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { enqueueGhl, GHL_QUEUE, type GhlJob } from "@/lib/queue/ghl-jobs";
import { startGhlSyncWorker } from "@/worker/jobs/ghl-sync";
import { type FakeGhlPost, fakeGhl } from "./helpers/fake-ghl";
import { linkNumberByQr, simCall, startMessagingFixture, until } from "./helpers/wa-fixture";

// A contact's message that the number cannot decrypt (its Signal session fell out of step) comes
// again once the phone answers the retry receipt; the contact's next messages decrypt at once.
// Through the real Baileys client, the WhatsApp simulator and the real GHL queue consumer (8 jobs
// at once): GHL still gets the contact's messages in the order they were written, each once.
const LOC = "OrderedDental0000001";
const NUMBER = "15554440001";
const CONTACT = "15554449999";
type Fixture = Awaited<ReturnType<typeof startMessagingFixture>>;
let fixture: Fixture | undefined;
let queueConn: Redis;
let queue: Queue;
let consumer: ReturnType<typeof startGhlSyncWorker>;
const posts: FakeGhlPost[] = [];

beforeAll(async () => {
  fixture = await startMessagingFixture({
    testFile: import.meta.filename,
    workerId: "order-worker",
    pool: 6,
    log: pino({ level: "silent" }),
    notifyGhl: async (j: GhlJob) => void (await enqueueGhl(queue, j)),
  });
  queueConn = new Redis(`${process.env.TEST_REDIS_URL}/1`, { maxRetriesPerRequest: null });
  queue = new Queue(GHL_QUEUE, {
    connection: queueConn,
    defaultJobOptions: { attempts: 3, backoff: { type: "fixed", delay: 300 }, removeOnFail: false },
  });
  const ghl = fakeGhl(posts);
  consumer = startGhlSyncWorker({
    db: fixture.db,
    connection: queueConn,
    queue,
    pending: fixture.redis,
    ghlFor: () => ghl,
    cfg: { appUrl: "http://x", conversationProviderId: "" },
    log: pino({ level: "silent" }),
    concurrency: 8,
    sweepEveryMs: 3_600_000,
  });
  await fixture.db.location.create({ data: { id: LOC, name: "Ordered Dental" } });
  await fixture.db.instance.create({ data: { id: "io", locationId: LOC, name: "wa-01" } });
  await simCall(fixture.sim, "POST", "/__sandbox/phones", { phone: NUMBER });
  await simCall(fixture.sim, "POST", "/__sandbox/phones", { phone: CONTACT, name: "Ola" });
});
afterAll(async () => {
  await consumer?.stop();
  await queue?.close();
  await queueConn?.quit();
  await fixture?.close();
});

const send = (text: string) =>
  simCall<{ id: string }>(fixture!.sim, "POST", `/__sandbox/phones/${CONTACT}/send`, { to: NUMBER, text });

describe("a message that needed a retry receipt keeps its place", { retry: 0 }, () => {
  it("links the number", async () => {
    await linkNumberByQr(fixture!, LOC, NUMBER, "io");
  });

  it("the undecryptable one comes again 1.5 s later; GHL gets all in the order written, once each", async () => {
    const first = await send("first");
    await until("the first in GHL", async () => posts.some((p) => p.altId === first.id), 15_000);
    // the companion cannot decrypt the next one; the phone answers its retry receipt after 1.5 s
    await simCall(fixture!.sim, "POST", "/__sandbox/faults", {
      kind: "garbled",
      phone: CONTACT,
      count: 1,
      delayMs: 1500,
    });
    const texts = ["needs a retry", "after it 1", "after it 2", "after it 3"];
    const ids: string[] = [];
    for (const t of texts) {
      ids.push((await send(t)).id);
      await new Promise((r) => setTimeout(r, 1100)); // whole seconds apart: WhatsApp's timestamps
    }
    await until("all in GHL", async () => ids.every((id) => posts.some((p) => p.altId === id)), 20_000);
    const order = posts.filter((p) => ids.includes(p.altId)).map((p) => p.message);
    expect(order).toEqual(texts);
    const devices = await simCall<{ phone: string; retryReceipts: Record<string, number> }[]>(
      fixture!.sim,
      "GET",
      "/__sandbox/devices",
    );
    expect(devices.find((d) => d.phone === NUMBER)?.retryReceipts.resent).toBe(1);
    // nothing is left waiting: a later message goes through at once
    const late = await send("later");
    const t0 = Date.now();
    await until("the later one in GHL", async () => posts.some((p) => p.altId === late.id), 15_000);
    expect(Date.now() - t0).toBeLessThan(5_000);
  });
});
