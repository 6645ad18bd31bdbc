import { Redis } from "ioredis";
import QRCode from "qrcode";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { POST as createInstance, GET as listInstances } from "@/app/api/instances/route";
import { POST as clear } from "@/app/api/wa/clear/[instanceId]/route";
import { GET as getQr } from "@/app/api/wa/qr/[instanceId]/route";
import { POST as reconnect } from "@/app/api/wa/reconnect/[instanceId]/route";
import { createApiKey } from "@/lib/api-keys/api-keys";
import { db } from "@/lib/db";
import { CONTROL_CHANNEL } from "@/lib/instances/control";
import { qrKey } from "@/lib/instances/link-codes";
import { subscribeWhenReady } from "@/lib/redis";
import { params, req, useAppEnv } from "./helpers/app-env";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";

// The seed's instance endpoints at the API edge (no worker here: what they store and announce).
let restore: () => Promise<void>;
let keyA: string;
let keyB: string;
let sub: Redis;
const control: { type: string; instanceId?: string }[] = [];

beforeAll(async () => {
  restore = useAppEnv({ databaseUrl: await cloneTemplateDb(dbNameFor(import.meta.filename)) });
  await db().location.createMany({
    data: [
      { id: "locA", name: "A" },
      { id: "locB", name: "B" },
    ],
  });
  keyA = (await createApiKey(db(), "locA", "a")).key;
  keyB = (await createApiKey(db(), "locB", "b")).key;
  sub = new Redis(`${process.env.TEST_REDIS_URL}/1`);
  await subscribeWhenReady(sub, CONTROL_CHANNEL);
  sub.on("message", (_c, m) => control.push(JSON.parse(m)));
});
afterAll(async () => {
  await sub.quit();
  await restore();
});

const h = (key: string) => ({ "x-api-key": key });
const settle = () => new Promise((r) => setTimeout(r, 50));

describe("instance endpoints", () => {
  it("POST /api/instances creates wa-01 (201), announces it, and reinitialises it on a repeat (200)", async () => {
    const r = await createInstance(
      req("/api/instances", {
        method: "POST",
        json: { instanceId: "wa-01", phoneAlias: "Front desk" },
        headers: h(keyA),
      }),
      params({}),
    );
    expect(r.status).toBe(201);
    const body = await r.json();
    expect(body.instance).toMatchObject({
      instanceId: "wa-01",
      phoneAlias: "Front desk",
      status: "CONNECTING",
      desiredState: "RUNNING",
    });
    await settle();
    expect(control).toContainEqual(expect.objectContaining({ type: "instance.start", instanceId: body.instance.id }));
    const again = await createInstance(
      req("/api/instances", { method: "POST", json: { instanceId: "wa-01" }, headers: h(keyA) }),
      params({}),
    );
    expect(again.status).toBe(200);
    expect((await again.json()).created).toBe(false);
  });

  it("forceNew needs an explicit confirmation before discarding a session", async () => {
    const r = await createInstance(
      req("/api/instances", { method: "POST", json: { instanceId: "wa-01", forceNew: true }, headers: h(keyA) }),
      params({}),
    );
    expect(r.status).toBe(409);
    expect((await r.json()).error.message).toMatch(/"confirm": "wa-01"/);
  });

  it("GET /api/instances lists only the key's location", async () => {
    await createInstance(
      req("/api/instances", { method: "POST", json: { instanceId: "wa-01" }, headers: h(keyB) }),
      params({}),
    );
    const a = await (await listInstances(req("/api/instances", { headers: h(keyA) }), params({}))).json();
    const b = await (await listInstances(req("/api/instances", { headers: h(keyB) }), params({}))).json();
    expect(a.instances).toHaveLength(1);
    expect(b.instances).toHaveLength(1);
    expect(a.instances[0].id).not.toBe(b.instances[0].id);
  });

  it("GET /api/wa/qr/:id gives the QR as text and PNG once the worker published it", async () => {
    const inst = await db().instance.findFirstOrThrow({ where: { locationId: "locA", name: "wa-01" } });
    const before = await (await getQr(req("/x", { headers: h(keyA) }), params({ instanceId: "wa-01" }))).json();
    expect(before).toMatchObject({ connected: false, qr: null, hint: expect.any(String) });
    const { redis } = await import("@/lib/redis");
    await redis().set(
      qrKey(inst.id),
      JSON.stringify({ qr: "2@abc,def,ghi", expiresAt: new Date(Date.now() + 20_000).toISOString() }),
      "PX",
      20_000,
    );
    const q = await (await getQr(req("/x", { headers: h(keyA) }), params({ instanceId: "wa-01" }))).json();
    expect(q.qr).toBe("2@abc,def,ghi");
    expect(q.qrDataUrl).toMatch(/^data:image\/png;base64,/);
    // another location cannot read it
    const other = await getQr(req("/x", { headers: h(keyB) }), params({ instanceId: "wa-09" }));
    expect(other.status).toBe(404);
  });

  it("GET /api/wa/qr/:id never starts a stopped number: 409 naming the route that does; nothing changes or is announced", async () => {
    const { POST: instanceAction } = await import("@/app/api/instances/[id]/[action]/route");
    await createInstance(
      req("/api/instances", { method: "POST", json: { instanceId: "wa-stop" }, headers: h(keyA) }),
      params({}),
    );
    const inst = await db().instance.findFirstOrThrow({ where: { locationId: "locA", name: "wa-stop" } });
    await db().instance.update({ where: { id: inst.id }, data: { desiredState: "STOPPED", status: "OFFLINE" } });
    await settle();
    control.length = 0;
    for (let i = 0; i < 3; i++) {
      const r = await getQr(req("/x", { headers: h(keyA) }), params({ instanceId: "wa-stop" }));
      expect(r.status).toBe(409);
      expect((await r.json()).error).toMatchObject({
        code: "conflict",
        message: expect.stringMatching(/wa-stop is stopped; start it first/),
        start: `/api/instances/${inst.id}/start`,
      });
    }
    await settle();
    expect(control).toEqual([]);
    expect(await db().instance.findUniqueOrThrow({ where: { id: inst.id } })).toMatchObject({
      desiredState: "STOPPED",
      status: "OFFLINE",
    });
    // the route it names starts it (API key or panel), after which the QR route answers again
    const started = await instanceAction(
      req(`/api/instances/${inst.id}/start`, { method: "POST", headers: h(keyA) }),
      params({ id: inst.id, action: "start" }),
    );
    expect(started.status).toBe(200);
    expect((await getQr(req("/x", { headers: h(keyA) }), params({ instanceId: "wa-stop" }))).status).toBe(200);
  });

  it("GET /api/wa/qr/:id renders the PNG once per QR value, not once per call", async () => {
    const inst = await db().instance.findFirstOrThrow({ where: { locationId: "locA", name: "wa-01" } });
    const { redis } = await import("@/lib/redis");
    const render = vi.spyOn(QRCode, "toDataURL");
    try {
      for (const qr of ["2@png-once,a,b", "2@png-once,c,d"]) {
        await redis().set(
          qrKey(inst.id),
          JSON.stringify({ qr, expiresAt: new Date(Date.now() + 20_000).toISOString() }),
          "PX",
          20_000,
        );
        const urls = new Set<string>();
        for (let i = 0; i < 10; i++)
          urls.add(
            (await (await getQr(req("/x", { headers: h(keyA) }), params({ instanceId: "wa-01" }))).json()).qrDataUrl,
          );
        expect(urls.size).toBe(1);
        expect([...urls][0]).toMatch(/^data:image\/png;base64,/);
      }
      expect(render).toHaveBeenCalledTimes(2);
    } finally {
      render.mockRestore();
    }
  });

  it("reconnect announces a restart; clear wipes the stored session and starts over", async () => {
    const inst = await db().instance.findFirstOrThrow({ where: { locationId: "locA", name: "wa-01" } });
    await db().waCreds.create({ data: { instanceId: inst.id, dataEnc: "x" } });
    const r = await reconnect(req("/x", { method: "POST", headers: h(keyA) }), params({ instanceId: "wa-01" }));
    expect(r.status).toBe(200);
    await settle();
    expect(control).toContainEqual(expect.objectContaining({ type: "instance.restart", instanceId: inst.id }));
    expect(await db().waCreds.count({ where: { instanceId: inst.id } })).toBe(1);
    const c = await clear(req("/x", { method: "POST", headers: h(keyA) }), params({ instanceId: "wa-01" }));
    expect(c.status).toBe(200);
    expect(await db().waCreds.count({ where: { instanceId: inst.id } })).toBe(0);
    expect((await c.json()).instance.desiredState).toBe("RUNNING");
  });

  it("rejects bad ids and missing keys", async () => {
    expect(
      (
        await createInstance(
          req("/x", { method: "POST", json: { instanceId: "Bad Name!" }, headers: h(keyA) }),
          params({}),
        )
      ).status,
    ).toBe(400);
    expect((await listInstances(req("/x"), params({}))).status).toBe(401);
    expect(
      (await reconnect(req("/x", { method: "POST", headers: h(keyB) }), params({ instanceId: "../../etc" }))).status,
    ).toBe(404);
  });
});
