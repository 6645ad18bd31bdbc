import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db";
import { configureWebhook, deliverHook, signature, webhookConfigured } from "@/lib/outgoing-webhooks/outgoing-webhooks";
import { patchLocationSettings, readLocationSettings } from "@/lib/tenants/settings";
import { useAppEnv } from "./helpers/app-env";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";

let db: Db;
let restore: () => Promise<void>;
let server: Server;
let url: string;
let origin: string;
const received: { headers: Record<string, string | string[] | undefined>; body: string }[] = [];
let answer = 200;

beforeAll(async () => {
  const dbUrl = await cloneTemplateDb(dbNameFor(import.meta.filename));
  restore = useAppEnv({ databaseUrl: dbUrl });
  db = createDb(dbUrl, 2);
  await db.location.create({ data: { id: "locA", name: "A" } });
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      received.push({ headers: req.headers, body });
      res.writeHead(answer).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  url = `${origin}/hook`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  await db.$disconnect();
  await restore();
});

describe("outgoing webhooks", () => {
  it("refuses plain http and private hosts unless their origin is allowed (sandbox)", async () => {
    await expect(configureWebhook(db, "locA", url)).rejects.toMatchObject({ status: 400 });
    await expect(configureWebhook(db, "locA", "https://10.0.0.5/x")).rejects.toThrow(/private network/);
    await expect(configureWebhook(db, "locA", url, { allowedOrigins: ["http://127.0.0.1:1"] })).rejects.toMatchObject({
      status: 400,
    });
    // IPv6 spellings of loopback and metadata addresses, and a name that resolves to one
    for (const u of [
      "https://[::ffff:7f00:1]/x",
      "https://[::ffff:127.0.0.1]/x",
      "https://[::7f00:1]/x",
      "https://[64:ff9b::a9fe:a9fe]/x",
      "https://[fec0::1]/x",
    ]) {
      await expect(configureWebhook(db, "locA", u), u).rejects.toThrow(/private network/);
    }
    await expect(
      configureWebhook(db, "locA", "https://hooks.example/x", {
        resolve: async () => [{ address: "::ffff:a9fe:a9fe", family: 6 }],
      }),
    ).rejects.toThrow(/private network/);
  });

  it("checks the address it connects to when it delivers, not only when the URL was configured", async () => {
    const before = received.length;
    // configured while it resolved to a public address; by delivery time it resolves to loopback
    await configureWebhook(db, "locA", "https://hooks.example/x", {
      resolve: async () => [{ address: "8.8.8.8", family: 4 }],
    });
    const ev = { type: "message.inbound", locationId: "locA", data: {}, at: new Date().toISOString() };
    await expect(deliverHook(db, ev, { resolve: async () => [{ address: "127.0.0.1", family: 4 }] })).rejects.toThrow(
      /private network/,
    );
    // a stored URL with a literal special address (configured before this guard existed)
    const port = new URL(origin).port;
    await patchLocationSettings(db, "locA", { webhookUrl: `https://[::ffff:7f00:1]:${port}/hook` });
    await expect(deliverHook(db, ev)).rejects.toThrow(/private network/);
    expect(received.length).toBe(before);
  });

  it("delivers signed events that the receiver can verify with the secret shown once", async () => {
    const { secret } = await configureWebhook(db, "locA", url, { allowedOrigins: [origin] });
    const row = await db.location.findUniqueOrThrow({ where: { id: "locA" } });
    // the secret only in its own column, sealed; the settings JSON holds the URL and nothing of it
    expect(JSON.stringify(row.settings)).not.toContain(secret!);
    expect(row.settings).not.toHaveProperty("webhookSecretEnc");
    expect(row.settings).toMatchObject({ webhookUrl: url });
    expect(row.webhookSecretEnc).toMatch(/^v1\./);
    expect(row.webhookSecretEnc).not.toContain(secret!);
    const ev = {
      type: "message.inbound",
      locationId: "locA",
      data: { from: "+15550001111", text: "hi" },
      at: new Date().toISOString(),
    };
    expect(await deliverHook(db, ev, { allowedOrigins: [origin] })).toBe("delivered");
    const got = received.at(-1)!;
    expect(JSON.parse(got.body)).toEqual(ev);
    expect(got.headers["x-gateway-signature"]).toBe(
      signature(secret!, String(got.headers["x-gateway-timestamp"]), got.body),
    );
  });

  it("clearing the webhook drops URL and secret and keeps the other settings", async () => {
    await patchLocationSettings(db, "locA", { maxWaitMinutes: 7 });
    await configureWebhook(db, "locA", url, { allowedOrigins: [origin] });
    expect(await webhookConfigured(db, "locA")).toBe(true);
    await configureWebhook(db, "locA", null);
    expect(await webhookConfigured(db, "locA")).toBe(false);
    expect((await db.location.findUniqueOrThrow({ where: { id: "locA" } })).webhookSecretEnc).toBeNull();
    expect(await readLocationSettings(db, "locA")).toMatchObject({ maxWaitMinutes: 7, webhookUrl: null });
    const ev = { type: "message.inbound", locationId: "locA", data: {}, at: new Date().toISOString() };
    expect(await deliverHook(db, ev, { allowedOrigins: [origin] })).toBe("not-configured");
    await configureWebhook(db, "locA", url, { allowedOrigins: [origin] });
  });

  it("throws on a non-2xx answer so the queue retries", async () => {
    answer = 503;
    await expect(
      deliverHook(
        db,
        { type: "message.status", locationId: "locA", data: {}, at: new Date().toISOString() },
        { allowedOrigins: [origin] },
      ),
    ).rejects.toThrow(/503/);
    answer = 200;
  });
});
