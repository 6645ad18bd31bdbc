import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db";
import * as instances from "@/lib/instances/instances";
import { leaseKey } from "@/lib/instances/lease-key";
import { qrKey } from "@/lib/instances/link-codes";
import { startWaSimulator, type WaSimulator } from "@/sandbox/whatsapp/server";
import { QR_EXPIRED } from "@/worker/whatsapp/reconnect-policy";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";
import { makeManager, managerConfig, type SimDevice, simCall, until, watchEvents } from "./helpers/wa-fixture";

// The real Baileys client, driven by the session manager, against the WhatsApp simulator:
// linking by QR, surviving a restart and a killed worker without a rescan, unlinking.
let sim: WaSimulator;
let db: Db;
let dbUrl: string;
let redis: Redis;
let watch: Awaited<ReturnType<typeof watchEvents>>;
const PHONE = "15550001001";
let instanceId = "";
const children: ChildProcess[] = [];

beforeAll(async () => {
  sim = await startWaSimulator({ port: 0, host: "127.0.0.1" });
  dbUrl = await cloneTemplateDb(dbNameFor(import.meta.filename));
  db = createDb(dbUrl, 6);
  redis = new Redis(`${process.env.TEST_REDIS_URL}/1`);
  await redis.flushdb();
  await db.location.create({ data: { id: "locA", name: "A" } });
  watch = await watchEvents(`${process.env.TEST_REDIS_URL}/1`, "locA");
  await simCall(sim, "POST", "/__sandbox/phones", { phone: PHONE });
});
afterAll(async () => {
  for (const c of children) c.kill("SIGKILL");
  await watch?.close();
  await redis?.quit();
  await db?.$disconnect();
  await sim?.close();
});

const row = () => db.instance.findUniqueOrThrow({ where: { id: instanceId } });
const device = async (phone = PHONE) =>
  (await simCall<SimDevice[]>(sim, "GET", "/__sandbox/devices")).find((d) => d.phone === phone);
const qrEvents = () => watch.events.filter((e) => e.type === "instance.qr" && e.instanceId === instanceId);
const online = () => until("ONLINE", async () => (await row()).status === "ONLINE");
/** A new manager logged the number in (the row may still say ONLINE from the previous one). */
async function startLoggedIn(workerId: string) {
  const logins = (await device())!.logins;
  const w = makeManager(db, managerConfig(sim, dbUrl, workerId));
  await w.m.start();
  await until(
    "a login by the new manager",
    async () => (await device())!.logins > logins && (await device())!.connected,
  );
  await online();
  return w;
}

describe("WhatsApp sessions through the session manager", () => {
  it("links a new instance by QR: QR published and kept for late panels, phone scans, ONLINE with the number", async () => {
    const w = makeManager(db, managerConfig(sim, dbUrl, "w1"));
    await w.m.start();
    try {
      const created = await instances.create(db, redis, "locA", { name: "wa-01" }, { maxPerLocation: 10 });
      instanceId = created.id;
      const qr = await until("a QR event", async () => qrEvents()[0]);
      expect(qr.type === "instance.qr" && Date.parse(qr.expiresAt)).toBeGreaterThan(Date.now());
      const kept = await instances.currentQr(db, redis, "locA", instanceId);
      expect(kept?.qr).toBe(qr.type === "instance.qr" ? qr.qr : "");
      expect((await row()).status).toBe("QR");

      await simCall(sim, "POST", `/__sandbox/phones/${PHONE}/scan`, { qr: kept!.qr });
      await online();
      const r = await row();
      expect(r.phone).toBe(`+${PHONE}`);
      expect(r.lastError).toBeNull();
      expect(await redis.get(qrKey(instanceId))).toBeNull();
      expect(watch.events).toContainEqual(
        expect.objectContaining({ type: "instance.status", instanceId, status: "ONLINE", phone: `+${PHONE}` }),
      );
      expect(await db.waCreds.count({ where: { instanceId } })).toBe(1);
      expect(await db.waKey.count({ where: { instanceId, type: "pre-key" } })).toBeGreaterThan(0);
      expect(w.m.socketFor(instanceId)?.online).toBe(true);
    } finally {
      await w.close();
    }
    // a graceful stop closes the socket without logging out and frees the lease at once
    expect(await redis.get(leaseKey(instanceId))).toBeNull();
    expect((await device())?.connected).toBe(false);
  });

  it("after a restart, a new worker logs the stored session in: ONLINE, no new QR, no new pairing", async () => {
    const before = (await device())!;
    const qrsBefore = qrEvents().length;
    const w = makeManager(db, managerConfig(sim, dbUrl, "w2"));
    await w.m.start();
    try {
      await until("a new login", async () => (await device())!.logins > before.logins && (await device())!.connected);
      await online();
      expect(qrEvents()).toHaveLength(qrsBefore);
      const after = (await device())!;
      expect(after.pairings).toBe(1);
      expect(after.maxConcurrentConnections).toBe(1);
    } finally {
      await w.close();
    }
  });

  it("when the lease holder is killed (kill -9), another worker takes over within seconds, without a rescan", async () => {
    // node itself with tsx's loader (not the tsx CLI, which runs the code in a grandchild a kill would miss)
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        path.join(import.meta.dirname, "helpers/wa-manager-child.ts"),
        JSON.stringify(managerConfig(sim, dbUrl, "doomed")),
      ],
      {
        env: { ...process.env, LOG_LEVEL: "silent" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    children.push(child);
    await until(
      "the child worker to own the instance",
      async () => (await redis.get(leaseKey(instanceId))) === "doomed" && (await device())?.connected,
      30_000,
    );
    await online();
    const before = (await device())!;

    const w = makeManager(db, managerConfig(sim, dbUrl, "survivor"));
    await w.m.start();
    try {
      expect(w.m.owned()).toEqual([]); // the child still holds the lease: no second socket
      child.kill("SIGKILL");
      const killedAt = Date.now();
      await until(
        "takeover",
        async () =>
          (await redis.get(leaseKey(instanceId))) === "survivor" &&
          (await device())!.logins > before.logins &&
          (await device())!.connected,
      );
      await online();
      const tookMs = Date.now() - killedAt;
      process.stdout.write(`takeover after kill -9: ${tookMs} ms (lease TTL 4 s, scan every 0.4 s)\n`);
      expect(tookMs).toBeLessThan(12_000); // TTL + one scan + relogin, with room for a loaded CI machine
      const after = (await device())!;
      expect(after.pairings).toBe(1);
      expect(after.maxConcurrentConnections).toBe(1);
    } finally {
      await w.close();
    }
  });

  it("stop keeps the session (OFFLINE, socket closed), start brings it back ONLINE without a QR", async () => {
    const w = await startLoggedIn("w3");
    try {
      const qrs = qrEvents().length;
      await instances.setDesiredState(db, redis, "locA", instanceId, "STOPPED");
      await until("OFFLINE", async () => (await row()).status === "OFFLINE" && !(await device())!.connected);
      expect(await db.waCreds.count({ where: { instanceId } })).toBe(1);
      await instances.setDesiredState(db, redis, "locA", instanceId, "RUNNING");
      await online();
      expect(qrEvents()).toHaveLength(qrs);
    } finally {
      await w.close();
    }
  });

  it("a dropped connection reconnects by itself (RECONNECTING → ONLINE)", async () => {
    const w = await startLoggedIn("w4");
    try {
      const logins = (await device())!.logins;
      await simCall(sim, "POST", "/__sandbox/faults", { phone: PHONE, kind: "drop" });
      await until("a new login", async () => (await device())!.logins > logins && (await device())!.connected);
      await online();
      expect(watch.events).toContainEqual(
        expect.objectContaining({ type: "instance.status", instanceId, status: "RECONNECTING" }),
      );
    } finally {
      await w.close();
    }
  });

  it("unlinked from the phone: LOGGED_OUT, creds and keys wiped, not restarted", async () => {
    const w = await startLoggedIn("w5");
    try {
      await simCall(sim, "POST", `/__sandbox/phones/${PHONE}/unlink`, {});
      await until("LOGGED_OUT", async () => (await row()).status === "LOGGED_OUT");
      await until(
        "wiped",
        async () =>
          (await db.waCreds.count({ where: { instanceId } })) === 0 &&
          (await db.waKey.count({ where: { instanceId } })) === 0,
      );
      const r = await row();
      expect(r).toMatchObject({ desiredState: "STOPPED", phone: null });
      await w.m.scan();
      expect(w.m.owned()).toEqual([]);
      expect(await redis.get(leaseKey(instanceId))).toBeNull();
    } finally {
      await w.close();
    }
  });

  it("a QR nobody scans expires: OFFLINE with 'QR expired', desired state STOPPED, no retry loop", async () => {
    const w = makeManager(db, managerConfig(sim, dbUrl, "w6"), { qrTimeoutMs: 250 });
    await w.m.start();
    try {
      const fresh = await instances.create(db, redis, "locA", { name: "wa-qr" }, { maxPerLocation: 10 });
      await until(
        "QR expiry",
        async () => (await db.instance.findUniqueOrThrow({ where: { id: fresh.id } })).lastError === QR_EXPIRED,
        15_000,
      );
      const r = await db.instance.findUniqueOrThrow({ where: { id: fresh.id } });
      expect(r).toMatchObject({ status: "OFFLINE", desiredState: "STOPPED" });
      expect(watch.events.filter((e) => e.type === "instance.qr" && e.instanceId === fresh.id).length).toBeGreaterThan(
        1,
      );
      await w.m.scan();
      expect(w.m.owned()).toEqual([]);
    } finally {
      await w.close();
    }
  });
});
