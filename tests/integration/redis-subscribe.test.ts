import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { subscribeWhenReady } from "@/lib/redis";

// ioredis 5.11 writes SUBSCRIBE during its connection handshake, before its ready check, which
// then fails ("Connection in subscriber mode") and can cost the subscription: a fresh subscriber
// (a worker starting, the app's first panel stream) would miss control messages and wake-ups.
const url = `${process.env.TEST_REDIS_URL}/8`;
const pub = new Redis(url);
afterAll(async () => {
  await pub.quit();
});

async function freshSubscriberGets(subscribe: (r: Redis, ch: string) => Promise<unknown>, i: number): Promise<boolean> {
  const sub = new Redis(url);
  sub.on("error", () => {}); // the failing ready check is reported as an error event
  let got = false;
  sub.on("message", () => (got = true));
  await new Promise((r) => setTimeout(r, i % 3)); // land the subscribe at varying points of the handshake
  try {
    await subscribe(sub, `sub-race-${i}`);
    // the failed ready check tears the connection down a moment after the subscribe resolved:
    // a message published then is lost
    await new Promise((r) => setTimeout(r, 50));
    await pub.publish(`sub-race-${i}`, "x");
    const end = Date.now() + 200;
    while (!got && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  } catch {}
  sub.disconnect();
  return got;
}

describe("subscribing on a new Redis connection", () => {
  it("receives what is published once the subscribe has resolved, every time", async () => {
    const results: boolean[] = [];
    for (let i = 0; i < 60; i++) results.push(await freshSubscriberGets((r, ch) => subscribeWhenReady(r, ch), i));
    expect(results.filter((x) => !x)).toHaveLength(0);
  });
});
