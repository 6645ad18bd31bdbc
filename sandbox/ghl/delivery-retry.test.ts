import { verify as edVerify } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GHL_MAX_RETRIES, GHL_RETRY_DELAY_MS } from "./config";
import { SEED } from "./directory";
import type { GhlSimulator } from "./server";
import { control, startFakeApp, startSim } from "./test-kit";

// The Delivery URL is retried as GHL retries every webhook (docs/ghl.md#webhook-retries): only a 429, up to
// 6 times, ~10 minutes apart (shortened here); a 500 or anything else is never resent.
const sunrise = SEED.locations[0].id;
const DELAY = 30;
let sim: GhlSimulator;
let app: Awaited<ReturnType<typeof startFakeApp>>;

beforeAll(async () => {
  app = await startFakeApp();
  sim = await startSim({ appBaseUrl: app.url, webhookRetryDelayMs: DELAY });
});
afterAll(async () => {
  await sim.close();
  await app.close();
});

const send = async (message: string) =>
  (await control(sim, "POST", `/locations/${sunrise}/messages`, { phone: "+15550203030", message })).body;
const hitsOf = (messageId: string) =>
  app.received.filter((r) => r.path === "/api/ghl/delivery" && r.json?.messageId === messageId);
async function settled(messageId: string, ms = 5000) {
  const end = Date.now() + ms;
  for (;;) {
    const m = (await control(sim, "GET", `/messages/${messageId}`)).body;
    if (m.delivery.done || Date.now() > end) return m;
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("Delivery URL retries (GHL's rule)", () => {
  it("by default waits GHL's ~10 minutes between retries, 6 at most; a setting may shorten the wait, not remove the retries", async () => {
    const plain = await startSim({ appBaseUrl: app.url });
    try {
      expect((await control(plain, "GET", "/settings")).body).toMatchObject({
        webhookRetryDelayMs: GHL_RETRY_DELAY_MS,
        webhookMaxRetries: GHL_MAX_RETRIES,
      });
      expect(GHL_RETRY_DELAY_MS).toBe(600_000);
      expect(GHL_MAX_RETRIES).toBe(6);
      expect((await control(plain, "POST", "/settings", { webhookRetryDelayMs: 0 })).status).toBe(400);
      const r = await control(plain, "POST", "/settings", { webhookRetryDelayMs: 5, webhookMaxRetries: 0 });
      expect(r.body).toMatchObject({ webhookRetryDelayMs: 5, webhookMaxRetries: 6 });
    } finally {
      await plain.close();
    }
  });

  it("a 429 is resent — the same payload and messageId, signed — until the app takes it", async () => {
    app.statuses.push(429, 429);
    const first = await send("retried");
    expect(first.deliveryStatus).toBe(429);
    const m = await settled(first.messageId);
    expect(m.delivery.attempts.map((a: { status: number }) => a.status)).toEqual([429, 429, 200]);
    expect(m).toMatchObject({ deliveryStatus: 200, delivery: { done: true, retries: 2 } });
    const hits = hitsOf(first.messageId);
    expect(hits).toHaveLength(3);
    expect(new Set(hits.map((h) => h.raw.toString())).size).toBe(1);
    const { body: cfg } = await control(sim, "GET", "/config");
    for (const h of hits)
      expect(
        edVerify(null, h.raw, cfg.publicKeys.ed25519, Buffer.from(String(h.headers["x-ghl-signature"]), "base64")),
      ).toBe(true);
    const listed = (await control(sim, "GET", `/deliveries?locationId=${sunrise}`)).body.deliveries.find(
      (d: { messageId: string }) => d.messageId === first.messageId,
    );
    expect(listed).toMatchObject({ done: true, retries: 2 });
  });

  it("a 500 (or any other status) is final: never resent", async () => {
    for (const status of [500, 503, 400]) {
      app.statuses.push(status);
      const r = await send(`final ${status}`);
      expect(r.deliveryStatus).toBe(status);
      await new Promise((res) => setTimeout(res, DELAY * 5));
      const m = (await control(sim, "GET", `/messages/${r.messageId}`)).body;
      expect(m.delivery).toMatchObject({ done: true, retries: 0 });
      expect(m.delivery.attempts).toHaveLength(1);
      expect(hitsOf(r.messageId)).toHaveLength(1);
    }
  });

  it("gives up after 6 retries of a 429", async () => {
    app.statuses.push(...Array(10).fill(429));
    const r = await send("always busy");
    const m = await settled(r.messageId);
    expect(m.delivery.attempts).toHaveLength(1 + GHL_MAX_RETRIES);
    expect(m).toMatchObject({ deliveryStatus: 429, delivery: { done: true, retries: 6 } });
    await new Promise((res) => setTimeout(res, DELAY * 4));
    expect(hitsOf(r.messageId)).toHaveLength(7);
    app.statuses.length = 0;
  });
});
