import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db";
import { publishControl } from "@/lib/instances/control";
import * as instances from "@/lib/instances/instances";
import { leaseKey } from "@/lib/instances/lease-key";
import { linkCodesOf, pairingCodeKey, qrKey } from "@/lib/instances/link-codes";
import { startWaSimulator, type WaSimulator } from "@/sandbox/whatsapp/server";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";
import { makeManager, managerConfig, type SimDevice, simCall, until, watchEvents } from "./helpers/wa-fixture";

// What the panel and WhatsApp can do to a live number: pairing code instead of QR, logout from
// the panel, another client taking the session, a ban, a lost lease, an uninstalled location.
let sim: WaSimulator;
let db: Db;
let dbUrl: string;
let redis: Redis;
let watch: Awaited<ReturnType<typeof watchEvents>>;
let w: ReturnType<typeof makeManager>;
const PHONE = "15550002001";
let id = "";

beforeAll(async () => {
  sim = await startWaSimulator({ port: 0, host: "127.0.0.1" });
  dbUrl = await cloneTemplateDb(dbNameFor(import.meta.filename));
  db = createDb(dbUrl, 6);
  redis = new Redis(`${process.env.TEST_REDIS_URL}/1`);
  await redis.flushdb();
  await db.location.create({ data: { id: "locC", name: "C" } });
  watch = await watchEvents(`${process.env.TEST_REDIS_URL}/1`, "locC");
  await simCall(sim, "POST", "/__sandbox/phones", { phone: PHONE });
  w = makeManager(db, managerConfig(sim, dbUrl, "wc"));
  await w.m.start();
});
afterAll(async () => {
  await w?.close();
  await watch?.close();
  await redis?.quit();
  await db?.$disconnect();
  await sim?.close();
});

const row = () => db.instance.findUniqueOrThrow({ where: { id } });
const device = async () =>
  (await simCall<SimDevice[]>(sim, "GET", "/__sandbox/devices")).find((d) => d.phone === PHONE);
const status = (s: string) => until(s, async () => (await row()).status === s);

describe("controlling a live number", () => {
  it("links by pairing code: the code is published, the phone types it, ONLINE", async () => {
    id = (await instances.create(db, redis, "locC", { name: "wa-code" }, { maxPerLocation: 10 })).id;
    await status("QR");
    await instances.requestPairingCode(db, redis, "locC", id, `+${PHONE}`);
    const ev = await until("pairing code event", async () =>
      watch.events.find((e) => e.type === "instance.pairing-code" && e.instanceId === id),
    );
    const code = ev.type === "instance.pairing-code" ? ev.code : "";
    expect(code).toMatch(/^[0-9A-Z]{8}$/);
    // kept for a panel that opens now, with its expiry, next to the socket's QR
    const kept = (await linkCodesOf(redis, [id])).get(id);
    expect(kept?.pairingCode).toEqual({ code, expiresAt: ev.type === "instance.pairing-code" ? ev.expiresAt : "" });
    expect(kept?.qr?.qr).toEqual(expect.any(String));
    expect(await redis.pttl(pairingCodeKey(id))).toBeGreaterThan(0);
    await simCall(sim, "POST", `/__sandbox/phones/${PHONE}/pair-code`, { code });
    await status("ONLINE");
    expect((await row()).phone).toBe(`+${PHONE}`);
    // once linked, neither can link another phone: both are gone
    expect(await redis.exists(qrKey(id), pairingCodeKey(id))).toBe(0);
  });

  it("440 while this worker holds the lease: reconnects and stays the only socket", async () => {
    const logins = (await device())!.logins;
    await simCall(sim, "POST", "/__sandbox/faults", { phone: PHONE, kind: "stream-error", code: 440 });
    await until("relogin", async () => (await device())!.logins > logins && (await device())!.connected);
    await status("ONLINE");
    expect((await device())!.maxConcurrentConnections).toBe(1);
  });

  it("a worker whose lease is taken closes its socket at once and writes nothing more", async () => {
    await redis.set(leaseKey(id), "someone-else", "PX", 4000);
    await until("socket closed", async () => !(await device())!.connected && w.m.owned().length === 0, 5000);
    expect(await redis.get(leaseKey(id))).toBe("someone-else");
    // the other worker "dies": its lease runs out and this worker takes the number back
    await redis.del(leaseKey(id));
    await until("taken back", async () => (await device())!.connected && (await redis.get(leaseKey(id))) === "wc");
    await status("ONLINE");
  });

  it("restart from the panel reopens the socket, keeping the session", async () => {
    const logins = (await device())!.logins;
    await instances.restart(db, redis, "locC", id);
    await until("relogin", async () => (await device())!.logins > logins && (await device())!.connected);
    await status("ONLINE");
    expect((await device())!.pairings).toBe(1);
  });

  it("location uninstalled: its sockets close and its instances stay stopped", async () => {
    await publishControl(redis, { type: "location.uninstalled", locationId: "locC" });
    await status("OFFLINE");
    expect((await row()).desiredState).toBe("STOPPED");
    await until("socket closed", async () => !(await device())!.connected);
    expect(await db.waCreds.count({ where: { instanceId: id } })).toBe(1);
    await instances.setDesiredState(db, redis, "locC", id, "RUNNING");
    await status("ONLINE");
  });

  it("logout from the panel: logged out at WhatsApp, session wiped, LOGGED_OUT", async () => {
    await instances.requestLogout(db, redis, "locC", id);
    await status("LOGGED_OUT");
    await until("wiped", async () => (await db.waCreds.count({ where: { instanceId: id } })) === 0);
    expect(await db.waKey.count({ where: { instanceId: id } })).toBe(0);
    // the simulator does not act on `remove-companion-device` yet (it keeps listing the device);
    // what we can see is that the socket is gone
    await until("socket closed", async () => !(await device())?.connected);
    expect((await row()).desiredState).toBe("STOPPED");
    expect(w.m.owned()).toEqual([]);
  });

  it("a banned number stops as BANNED and is not retried", async () => {
    const phone = "15550002002";
    await simCall(sim, "POST", "/__sandbox/phones", { phone });
    const other = (await instances.create(db, redis, "locC", { name: "wa-ban" }, { maxPerLocation: 10 })).id;
    const qr = await until("QR", () => instances.currentQr(db, redis, "locC", other));
    await simCall(sim, "POST", `/__sandbox/phones/${phone}/scan`, { qr: qr.qr });
    await until(
      "ONLINE",
      async () => (await db.instance.findUniqueOrThrow({ where: { id: other } })).status === "ONLINE",
    );
    await simCall(sim, "POST", "/__sandbox/faults", { phone, kind: "ban" });
    await until(
      "BANNED",
      async () => (await db.instance.findUniqueOrThrow({ where: { id: other } })).status === "BANNED",
    );
    expect(await db.instance.findUniqueOrThrow({ where: { id: other } })).toMatchObject({ desiredState: "STOPPED" });
    await w.m.scan();
    expect(w.m.owned()).toEqual([]);
    expect(watch.events).toContainEqual(
      expect.objectContaining({ type: "instance.status", instanceId: other, status: "BANNED" }),
    );
  });
});
