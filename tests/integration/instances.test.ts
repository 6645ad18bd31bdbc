import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db";
import { AppError } from "@/lib/errors";
import { CONTROL_CHANNEL, type ControlMessage, parseControl } from "@/lib/instances/control";
import * as instances from "@/lib/instances/instances";
import { leaseKey } from "@/lib/instances/lease-key";
import { qrKey } from "@/lib/instances/link-codes";
import { subscribeWhenReady } from "@/lib/redis";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";

// lib/instances as the panel and the API use it: validation, uniqueness per location, tenant
// isolation (another location's id is a 404), and the control messages each change sends.
let db: Db;
let redis: Redis;
let sub: Redis;
const sent: ControlMessage[] = [];

beforeAll(async () => {
  db = createDb(await cloneTemplateDb(dbNameFor(import.meta.filename)), 4);
  redis = new Redis(`${process.env.TEST_REDIS_URL}/1`);
  sub = new Redis(`${process.env.TEST_REDIS_URL}/1`);
  await redis.flushdb();
  sub.on("message", (_c, raw: string) => sent.push(parseControl(raw)!));
  await subscribeWhenReady(sub, CONTROL_CHANNEL);
  await db.location.createMany({
    data: [
      { id: "locA", name: "A" },
      { id: "locB", name: "B" },
    ],
  });
});
afterAll(async () => {
  await sub.quit();
  await redis.quit();
  await db.$disconnect();
});

const status = async (p: Promise<unknown>) =>
  p.then(
    () => 200,
    (e) => (e instanceof AppError ? e.status : 500),
  );
// Runs `action`, then waits (up to 5 s: pub/sub delivery on a loaded CI machine is not instant)
// for the control message it sends, and returns it.
async function sends(action: () => Promise<unknown>): Promise<ControlMessage | undefined> {
  const before = sent.length;
  await action();
  const deadline = Date.now() + 5000;
  while (sent.length === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  return sent.length > before ? sent[sent.length - 1] : undefined;
}

describe("lib/instances", () => {
  it("creates with a valid name, RUNNING, and tells the workers", async () => {
    let i: Awaited<ReturnType<typeof instances.create>> | undefined;
    const msg = await sends(
      async () => (i = await instances.create(db, redis, "locA", { name: "wa-01" }, { maxPerLocation: 10 })),
    );
    expect(i).toMatchObject({ locationId: "locA", name: "wa-01", desiredState: "RUNNING", status: "CONNECTING" });
    expect(msg).toEqual({ type: "instance.start", instanceId: i!.id, locationId: "locA" });
  });

  it("rejects bad names (400) and duplicates within a location (409), not across locations", async () => {
    for (const name of ["", "Wa-01", "-wa", "wa 01", "x".repeat(33), "wa/01"]) {
      expect(await status(instances.create(db, redis, "locA", { name }, { maxPerLocation: 10 })), name).toBe(400);
    }
    expect(await status(instances.create(db, redis, "locA", { name: "wa-01" }, { maxPerLocation: 10 }))).toBe(409);
    expect(await status(instances.create(db, redis, "locB", { name: "wa-01" }, { maxPerLocation: 10 }))).toBe(200);
  });

  it("never shows or changes another location's instance", async () => {
    const [a] = await instances.list(db, "locA");
    expect((await instances.list(db, "locB")).map((i) => i.locationId)).toEqual(["locB"]);
    expect(await status(instances.get(db, "locB", a.id))).toBe(404);
    expect(await status(instances.setDesiredState(db, redis, "locB", a.id, "STOPPED"))).toBe(404);
    expect(await status(instances.restart(db, redis, "locB", a.id))).toBe(404);
    expect(await status(instances.requestLogout(db, redis, "locB", a.id))).toBe(404);
    expect(await status(instances.requestPairingCode(db, redis, "locB", a.id, "+15551234567"))).toBe(404);
    expect(await status(instances.currentQr(db, redis, "locB", a.id))).toBe(404);
    expect(await status(instances.remove(db, redis, "locB", a.id))).toBe(404);
    expect((await instances.get(db, "locA", a.id)).desiredState).toBe("RUNNING");
  });

  it("stop/start/restart/pairing-code change the desired state and send the matching command", async () => {
    const [a] = await instances.list(db, "locA");
    expect(
      (
        await sends(async () => {
          expect(await instances.setDesiredState(db, redis, "locA", a.id, "STOPPED")).toMatchObject({
            desiredState: "STOPPED",
            status: "OFFLINE",
          });
        })
      )?.type,
    ).toBe("instance.stop");
    expect(
      (
        await sends(async () => {
          expect((await instances.restart(db, redis, "locA", a.id)).desiredState).toBe("RUNNING");
        })
      )?.type,
    ).toBe("instance.restart");
    expect(await status(instances.requestPairingCode(db, redis, "locA", a.id, "12"))).toBe(400);
    expect(await sends(() => instances.requestPairingCode(db, redis, "locA", a.id, "+1 555 123 4567"))).toEqual({
      type: "instance.pairing-code",
      instanceId: a.id,
      locationId: "locA",
      phone: "15551234567",
    });
  });

  it("shows the QR a worker kept for late panels", async () => {
    const [a] = await instances.list(db, "locA");
    expect(await instances.currentQr(db, redis, "locA", a.id)).toBeNull();
    await redis.set(qrKey(a.id), JSON.stringify({ qr: "2@abc", expiresAt: "2030-01-01T00:00:00.000Z" }), "PX", 5000);
    expect(await instances.currentQr(db, redis, "locA", a.id)).toEqual({
      qr: "2@abc",
      expiresAt: "2030-01-01T00:00:00.000Z",
    });
  });

  it("logout with no live socket wipes the session here; with one it asks the owner", async () => {
    const [a] = await instances.list(db, "locA");
    await db.waCreds.create({ data: { instanceId: a.id, dataEnc: "v1.x" } });
    await db.waKey.create({ data: { instanceId: a.id, type: "session", keyId: "k", valueEnc: "v1.x" } });
    await instances.requestLogout(db, redis, "locA", a.id);
    expect(await db.waCreds.count({ where: { instanceId: a.id } })).toBe(0);
    expect(await db.waKey.count({ where: { instanceId: a.id } })).toBe(0);
    expect(await instances.get(db, "locA", a.id)).toMatchObject({
      status: "LOGGED_OUT",
      desiredState: "STOPPED",
      phone: null,
    });

    await redis.set(leaseKey(a.id), "some-worker", "PX", 5000);
    expect(await sends(() => instances.requestLogout(db, redis, "locA", a.id))).toEqual({
      type: "instance.logout",
      instanceId: a.id,
      locationId: "locA",
    });
  });

  it("delete removes the instance and its session", async () => {
    const [a] = await instances.list(db, "locA");
    await db.waKey.create({ data: { instanceId: a.id, type: "session", keyId: "k2", valueEnc: "v1.x" } });
    await instances.remove(db, redis, "locA", a.id);
    expect(await status(instances.get(db, "locA", a.id))).toBe(404);
    expect(await db.waKey.count({ where: { instanceId: a.id } })).toBe(0);
  });
});
