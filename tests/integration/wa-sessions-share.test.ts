import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db";
import * as instances from "@/lib/instances/instances";
import { leaseKey } from "@/lib/instances/lease-key";
import { latestQr } from "@/lib/instances/link-codes";
import { startWaSimulator, type WaSimulator } from "@/sandbox/whatsapp/server";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";
import { makeManager, managerConfig, type SimDevice, simCall, until } from "./helpers/wa-fixture";

// Fair share (docs/architecture.md#sharing-numbers-between-workers): workers started one after
// another next to a busy one end up with equal shares, the busy one handing numbers over; a
// draining worker hands all of its numbers to the others. Every handover keeps the session: no
// second pairing, and never two sockets for one device.
let sim: WaSimulator;
let db: Db;
let dbUrl: string;
let redis: Redis;
const N = 30;
const phone = (i: number) => `1555200${String(i).padStart(4, "0")}`;

beforeAll(async () => {
  sim = await startWaSimulator({ port: 0, host: "127.0.0.1" });
  dbUrl = await cloneTemplateDb(dbNameFor(import.meta.filename));
  db = createDb(dbUrl, 10);
  redis = new Redis(`${process.env.TEST_REDIS_URL}/1`);
  await db.location.create({ data: { id: "locS", name: "Share" } });
});
afterAll(async () => {
  await redis?.quit();
  await db?.$disconnect();
  await sim?.close();
});

/** A clean slate for each attempt (vitest retries once on a loaded machine). */
async function freshStart() {
  await db.instance.deleteMany({ where: { locationId: "locS" } });
  await redis.flushdb();
  await simCall(sim, "POST", "/__sandbox/reset", {});
  for (let i = 0; i < N; i++) await simCall(sim, "POST", "/__sandbox/phones", { phone: phone(i) });
}

const devices = () => simCall<SimDevice[]>(sim, "GET", "/__sandbox/devices");
const allOnline = async () => (await db.instance.count({ where: { locationId: "locS", status: "ONLINE" } })) === N;
// a TTL that tolerates 30 Baileys clients and three managers on one event loop (see wa-sessions-fleet)
const worker = (id: string) =>
  makeManager(db, managerConfig(sim, dbUrl, id), { leaseTtlMs: 6000, handoversPerMinute: 600 });
type Worker = ReturnType<typeof worker>;

async function settled(workers: Worker[], each: number) {
  await until(
    `shares of ${each}±1 over ${workers.length}`,
    async () => {
      const held = workers.map((w) => w.m.owned().length);
      return held.reduce((a, b) => a + b, 0) === N && held.every((h) => Math.abs(h - each) <= 1) && (await allOnline());
    },
    40_000,
    250,
  );
}

async function noRescanNoOverlap() {
  const ds = await devices();
  expect(ds).toHaveLength(N);
  for (const d of ds) {
    expect(d.pairings, `pairings of ${d.phone}`).toBe(1);
    expect(d.maxConcurrentConnections, `concurrent sockets of ${d.phone}`).toBe(1);
  }
}

describe("sharing numbers between workers", () => {
  it("spreads 30 numbers over 3 workers started one after another, and a draining one hands all over", async () => {
    await freshStart();
    const a = worker("share-a");
    const b = worker("share-b");
    const c = worker("share-c");
    try {
      await a.m.start();
      const ids: string[] = [];
      for (let i = 0; i < N; i++)
        ids.push((await instances.create(db, redis, "locS", { name: `s-${i}` }, { maxPerLocation: N })).id);
      await Promise.all(
        ids.map(async (id, i) => {
          const qr = await until(`QR of ${id}`, () => latestQr(redis, id), 30_000);
          await simCall(sim, "POST", `/__sandbox/phones/${phone(i)}/scan`, { qr: qr.qr });
        }),
      );
      await until("all ONLINE on the first worker", allOnline, 40_000, 250);
      expect(a.m.owned()).toHaveLength(N);

      await b.m.start();
      await settled([a, b], N / 2);
      await c.m.start();
      await settled([a, b, c], N / 3);
      await noRescanNoOverlap();
      for (const w of [a, b, c])
        for (const id of w.m.owned())
          expect(await redis.get(leaseKey(id))).toBe(w.m === a.m ? "share-a" : w.m === b.m ? "share-b" : "share-c");

      // c drains: every number it held moves to a or b, linked as before
      const fromC = c.m.owned();
      expect(await c.m.drain(20_000)).toBe(true);
      expect(c.m.owned()).toHaveLength(0);
      await settled([a, b], N / 2);
      for (const id of fromC) expect(["share-a", "share-b"]).toContain(await redis.get(leaseKey(id)));
      await noRescanNoOverlap();
    } finally {
      await c.close().catch(() => {});
      await b.close().catch(() => {});
      await a.close();
    }
  });
});
