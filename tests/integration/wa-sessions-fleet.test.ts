import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db";
import * as instances from "@/lib/instances/instances";
import { leaseKey } from "@/lib/instances/lease-key";
import { latestQr } from "@/lib/instances/link-codes";
import { startWaSimulator, type WaSimulator } from "@/sandbox/whatsapp/server";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";
import { makeManager, managerConfig, type SimDevice, simCall, until } from "./helpers/wa-fixture";

// Twenty numbers over two workers: the load spreads, and no device ever has two sockets at once,
// not while linking, not while one worker hands everything over to the other.
let sim: WaSimulator;
let db: Db;
let dbUrl: string;
let redis: Redis;
const N = 20;
const phone = (i: number) => `1555100${String(i).padStart(4, "0")}`;
let ids: string[] = [];

beforeAll(async () => {
  sim = await startWaSimulator({ port: 0, host: "127.0.0.1" });
  dbUrl = await cloneTemplateDb(dbNameFor(import.meta.filename));
  db = createDb(dbUrl, 10);
  redis = new Redis(`${process.env.TEST_REDIS_URL}/1`);
  await redis.flushdb();
  await db.location.create({ data: { id: "locF", name: "Fleet" } });
});

/** A clean slate for each attempt (vitest retries this test once on a loaded machine). */
async function freshStart() {
  await db.instance.deleteMany({ where: { locationId: "locF" } });
  await redis.flushdb();
  await simCall(sim, "POST", "/__sandbox/reset", {});
  for (let i = 0; i < N; i++) await simCall(sim, "POST", "/__sandbox/phones", { phone: phone(i) });
  ids = [];
}
afterAll(async () => {
  await redis?.quit();
  await db?.$disconnect();
  await sim?.close();
});

const devices = () => simCall<SimDevice[]>(sim, "GET", "/__sandbox/devices");
const allOnline = async () => (await db.instance.count({ where: { locationId: "locF", status: "ONLINE" } })) === N;

describe("a fleet of numbers over two workers", () => {
  it("links 20 numbers across 2 workers, spread between them, never two sockets for one device", async () => {
    // 20 Baileys clients, two managers and the simulator share one event loop here, which linking
    // (812 pre-keys each) can block for over a second: a TTL that tolerates it, as 15 s does in production
    await freshStart();
    const a = makeManager(db, managerConfig(sim, dbUrl, "wa-a"), { leaseTtlMs: 6000 });
    const b = makeManager(db, managerConfig(sim, dbUrl, "wa-b"), { leaseTtlMs: 6000 });
    await Promise.all([a.m.start(), b.m.start()]);
    try {
      for (let i = 0; i < N; i++)
        ids.push((await instances.create(db, redis, "locF", { name: `wa-${i}` }, { maxPerLocation: N })).id);
      await Promise.all(
        ids.map(async (id, i) => {
          const qr = await until(`QR of ${id}`, () => latestQr(redis, id), 30_000);
          await simCall(sim, "POST", `/__sandbox/phones/${phone(i)}/scan`, { qr: qr.qr });
        }),
      );
      await until("all ONLINE", allOnline, 40_000, 250);

      const ownedA = a.m.owned().length;
      const ownedB = b.m.owned().length;
      expect(ownedA + ownedB).toBe(N);
      expect(Math.min(ownedA, ownedB)).toBeGreaterThanOrEqual(N / 2 - 1);
      for (const id of ids) expect(await redis.get(leaseKey(id))).toBe(a.m.owned().includes(id) ? "wa-a" : "wa-b");
      const ds = await devices();
      expect(ds).toHaveLength(N);
      expect(ds.every((d) => d.connected && d.maxConcurrentConnections === 1 && d.pairings === 1)).toBe(true);

      // one worker leaves: the other takes every number over, with no rescan and no overlap
      const handedOver = a.m.owned();
      const loginsBefore = new Map(ds.map((d) => [d.phone, d.logins]));
      await a.close();
      await until("takeover of every number", async () => b.m.owned().length === N, 20_000, 200);
      await until(
        "all ONLINE again",
        async () => {
          const now = await devices();
          return now.every((d) => d.connected) && (await allOnline());
        },
        20_000,
        250,
      );
      const after = await devices();
      expect(after.every((d) => d.maxConcurrentConnections === 1 && d.pairings === 1)).toBe(true);
      const relogged = after.filter((d) => d.logins > (loginsBefore.get(d.phone) ?? 0)).length;
      // every handed-over number logged in again (others may have reconnected too on a loaded machine)
      expect(relogged).toBeGreaterThanOrEqual(handedOver.length);
      for (const id of handedOver) expect(await redis.get(leaseKey(id))).toBe("wa-b");
    } finally {
      await a.close().catch(() => {});
      await b.close();
    }
  });
});
