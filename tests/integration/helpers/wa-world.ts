import type { ChildProcess } from "node:child_process";
import { Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import { createDb, type Db } from "@/lib/db";
import { startWaSimulator } from "@/sandbox/whatsapp/server";
import { cloneTemplateDb, dbNameFor } from "./db";
import { simCall } from "./wa-fixture";

type Sim = Awaited<ReturnType<typeof startWaSimulator>>;

/** What a test file's WhatsApp world holds once `beforeAll` ran. */
export type WaWorld = {
  db: Db;
  dbUrl: string;
  sim: Sim;
  redis: Redis;
  /** worker processes the test spawned: killed (-9) after the file */
  children: ChildProcess[];
};

/**
 * The world most worker tests start from, set up before the file's tests and torn down after:
 * the file's own database cloned from the template, an in-process WhatsApp simulator, Redis DB 1
 * flushed, one location with one number (`wa-01`, not linked yet) and the simulator's phones.
 * The fields are filled in `beforeAll`: read them inside tests, not at module level.
 */
export function useWaWorld(
  testFile: string,
  o: { location: string; instance: string; phones: string[]; pool?: number },
): WaWorld {
  const world = { children: [] as ChildProcess[] } as WaWorld;
  beforeAll(async () => {
    world.dbUrl = await cloneTemplateDb(dbNameFor(testFile));
    world.db = createDb(world.dbUrl, o.pool ?? 6);
    world.sim = await startWaSimulator({ port: 0, host: "127.0.0.1" });
    world.redis = new Redis(`${process.env.TEST_REDIS_URL}/1`);
    await world.redis.flushdb();
    await world.db.location.create({ data: { id: o.location, name: o.location } });
    await world.db.instance.create({ data: { id: o.instance, locationId: o.location, name: "wa-01" } });
    for (const phone of o.phones) await simCall(world.sim, "POST", "/__sandbox/phones", { phone });
  });
  afterAll(async () => {
    for (const c of world.children) c.kill("SIGKILL");
    await world.redis?.quit();
    await world.sim?.close();
    await world.db?.$disconnect();
  });
  return world;
}
