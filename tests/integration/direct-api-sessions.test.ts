import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POST as createInstance } from "@/app/api/instances/route";
import { POST as clear } from "@/app/api/wa/clear/[instanceId]/route";
import { GET as getQr } from "@/app/api/wa/qr/[instanceId]/route";
import { POST as reconnect } from "@/app/api/wa/reconnect/[instanceId]/route";
import { createApiKey } from "@/lib/api-keys/api-keys";
import { db } from "@/lib/db";
import { startWaSimulator } from "@/sandbox/whatsapp/server";
import { params, req, useAppEnv } from "./helpers/app-env";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";
import { makeManager, managerConfig, type SimDevice, simCall, until } from "./helpers/wa-fixture";

// The seed's endpoints against a real worker session and the WhatsApp simulator: link through
// /api/wa/qr, reconnect keeps the session (no new pairing), clear forces a new QR.
const NUMBER = "15554440001";
let restore: () => Promise<void>;
let sim: Awaited<ReturnType<typeof startWaSimulator>>;
let worker: ReturnType<typeof makeManager>;
let key: string;

beforeAll(async () => {
  const url = await cloneTemplateDb(dbNameFor(import.meta.filename));
  restore = useAppEnv({ databaseUrl: url });
  const { redis } = await import("@/lib/redis");
  await redis().flushdb();
  sim = await startWaSimulator({ port: 0, host: "127.0.0.1" });
  await db().location.create({ data: { id: "locS", name: "S" } });
  key = (await createApiKey(db(), "locS", "t")).key;
  worker = makeManager(db(), managerConfig(sim as never, url, "api-worker"));
  await worker.m.start();
  await simCall(sim, "POST", "/__sandbox/phones", { phone: NUMBER });
});
afterAll(async () => {
  await worker?.close();
  await sim?.close();
  await restore?.();
});

const h = { "x-api-key": () => key };
const call = (handler: typeof reconnect, name: string) =>
  handler(req("/x", { method: "POST", headers: { "x-api-key": h["x-api-key"]() } }), params({ instanceId: name }));
const device = async () =>
  (await simCall<SimDevice[]>(sim, "GET", "/__sandbox/devices")).find((d) => d.phone === NUMBER);

describe("direct API with a live session", () => {
  it("links wa-01 with the QR from GET /api/wa/qr, then reconnect keeps the session and clear asks for a new QR", async () => {
    const created = await createInstance(
      req("/x", { method: "POST", json: { instanceId: "wa-01" }, headers: { "x-api-key": key } }),
      params({}),
    );
    expect(created.status).toBe(201);
    const qr = await until("a QR from the API", async () => {
      const b = await (
        await getQr(req("/x", { headers: { "x-api-key": key } }), params({ instanceId: "wa-01" }))
      ).json();
      return b.qr ? b : undefined;
    });
    expect(qr.qrDataUrl).toMatch(/^data:image\/png;base64,/);
    await simCall(sim, "POST", `/__sandbox/phones/${NUMBER}/scan`, { qr: qr.qr });
    await until(
      "connected",
      async () =>
        (await (await getQr(req("/x", { headers: { "x-api-key": key } }), params({ instanceId: "wa-01" }))).json())
          .connected,
    );
    const before = (await device())!;

    expect((await call(reconnect, "wa-01")).status).toBe(200);
    await until(
      "a new login",
      async () => ((await device())?.logins ?? 0) > before.logins && (await device())?.connected,
    );
    await until(
      "ONLINE again",
      async () =>
        (await db().instance.findFirst({ where: { locationId: "locS", name: "wa-01" } }))?.status === "ONLINE",
    );
    expect((await device())!.pairings).toBe(before.pairings);

    expect((await call(clear, "wa-01")).status).toBe(200);
    const fresh = await until(
      "a new QR after clear",
      async () => {
        const b = await (
          await getQr(req("/x", { headers: { "x-api-key": key } }), params({ instanceId: "wa-01" }))
        ).json();
        return b.qr && b.qr !== qr.qr ? b : undefined;
      },
      30_000,
    );
    expect(fresh.connected).toBe(false);
    expect((await db().instance.findFirstOrThrow({ where: { locationId: "locS", name: "wa-01" } })).phone).toBeNull();
  });
});
