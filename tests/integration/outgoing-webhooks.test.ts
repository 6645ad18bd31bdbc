import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db";
import { configureWebhook, deliverHook, signature } from "@/lib/outgoing-webhooks/outgoing-webhooks";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";
import { useAppEnv } from "./helpers/app-env";

let db: Db;
let restore: () => Promise<void>;
let server: Server;
let url: string;
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
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  await db.$disconnect();
  await restore();
});

describe("outgoing webhooks", () => {
  it("refuses plain http and private hosts unless allowed (sandbox)", async () => {
    await expect(configureWebhook(db, "locA", url)).rejects.toMatchObject({ status: 400 });
    await expect(configureWebhook(db, "locA", "https://10.0.0.5/x")).rejects.toThrow(/private network/);
  });

  it("delivers signed events that the receiver can verify with the secret shown once", async () => {
    const { secret } = await configureWebhook(db, "locA", url, { allowPrivate: true });
    const stored = JSON.stringify((await db.location.findUniqueOrThrow({ where: { id: "locA" } })).settings);
    expect(stored).not.toContain(secret!);
    const ev = { type: "message.inbound", locationId: "locA", data: { from: "+15550001111", text: "hi" }, at: new Date().toISOString() };
    expect(await deliverHook(db, ev, { allowPrivate: true })).toBe("delivered");
    const got = received.at(-1)!;
    expect(JSON.parse(got.body)).toEqual(ev);
    expect(got.headers["x-gateway-signature"]).toBe(signature(secret!, String(got.headers["x-gateway-timestamp"]), got.body));
  });

  it("throws on a non-2xx answer so the queue retries", async () => {
    answer = 503;
    await expect(deliverHook(db, { type: "message.status", locationId: "locA", data: {}, at: new Date().toISOString() }, { allowPrivate: true })).rejects.toThrow(/503/);
    answer = 200;
  });
});
