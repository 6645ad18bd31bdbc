import { createPrivateKey, createSign, generateKeyPairSync, sign } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POST } from "@/app/api/ghl/delivery/route";
import { db } from "@/lib/db";
import { params, req, useAppEnv } from "./helpers/app-env";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";

// The Delivery URL as GHL calls it: signed raw bytes in, the message durably queued out.
const ed = generateKeyPairSync("ed25519", {
  publicKeyEncoding: { type: "spki", format: "pem" },
  privateKeyEncoding: { type: "pkcs8", format: "pem" },
});
const rsa = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  publicKeyEncoding: { type: "spki", format: "pem" },
  privateKeyEncoding: { type: "pkcs8", format: "pem" },
});
let restore: () => Promise<void>;

beforeAll(async () => {
  restore = useAppEnv({
    databaseUrl: await cloneTemplateDb(dbNameFor(import.meta.filename)),
    extra: { GHL_WEBHOOK_PUBLIC_KEY_ED25519: ed.publicKey, GHL_WEBHOOK_PUBLIC_KEY_RSA: rsa.publicKey },
  });
  await db().location.createMany({
    data: [
      { id: "locA", name: "A" },
      { id: "locGone", name: "Gone", installed: false },
    ],
  });
  await db().instance.create({ data: { id: "i1", locationId: "locA", name: "wa-01" } });
});
afterAll(async () => restore());

const payload = (o: Record<string, unknown> = {}) => ({
  contactId: "c1",
  locationId: "locA",
  messageId: `g${Math.random()}`,
  type: "SMS",
  phone: "+15550007777",
  message: "Hello from GHL",
  attachments: [],
  ...o,
});
function call(body: unknown, how: "ed25519" | "rsa" | "forged" | "none" = "ed25519") {
  const raw = Buffer.from(JSON.stringify(body));
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (how === "ed25519")
    headers["x-ghl-signature"] = sign(null, raw, createPrivateKey(ed.privateKey)).toString("base64");
  if (how === "rsa") headers["x-wh-signature"] = createSign("SHA256").update(raw).sign(rsa.privateKey, "base64");
  if (how === "forged")
    headers["x-ghl-signature"] = sign(null, Buffer.from("something else"), createPrivateKey(ed.privateKey)).toString(
      "base64",
    );
  return POST(req("/api/ghl/delivery", { method: "POST", body: raw, headers }), params({}));
}

describe("POST /api/ghl/delivery", () => {
  it("queues a signed message (Ed25519 or RSA) for the location's number", async () => {
    for (const how of ["ed25519", "rsa"] as const) {
      const p = payload();
      const r = await call(p, how);
      expect(r.status).toBe(200);
      expect(await r.json()).toMatchObject({ ok: true, status: "QUEUED", duplicate: false });
      const row = await db().message.findUniqueOrThrow({ where: { ghlMessageId: p.messageId } });
      expect(row).toMatchObject({ instanceId: "i1", text: "Hello from GHL", source: "GHL" });
    }
  });

  it("stores a message delivered three times once, answering the same each time", async () => {
    const p = payload();
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await (await call(p)).json());
    expect(new Set(answers.map((a) => a.messageId)).size).toBe(1);
    expect(answers.map((a) => a.duplicate)).toEqual([false, true, true]);
    expect(await db().message.count({ where: { ghlMessageId: p.messageId } })).toBe(1);
  });

  it("401 for forged and unsigned calls, and nothing is stored", async () => {
    const p = payload();
    expect((await call(p, "forged")).status).toBe(401);
    expect((await call(p, "none")).status).toBe(401);
    expect(await db().message.count({ where: { ghlMessageId: p.messageId } })).toBe(0);
  });

  it("422 for an attachment on a private or reserved address, and nothing is stored", async () => {
    for (const a of [
      "http://[::ffff:a9fe:a9fe]/latest/meta-data",
      "http://10.0.0.7/a.png",
      "https://[fd00::1]/a.png",
    ]) {
      const p = payload({ attachments: ["https://cdn.example.com/ok.png", a] });
      const r = await call(p);
      expect(r.status, a).toBe(422);
      expect((await r.json()).error.message).toMatch(/private or reserved/);
      expect(await db().message.count({ where: { ghlMessageId: p.messageId } })).toBe(0);
    }
  });

  it("answers bad input with 4xx, never 500", async () => {
    expect((await call({ hello: "world" })).status).toBe(400);
    expect((await call(payload({ type: "Email", phone: undefined }))).status).toBe(422);
    // no phone: only a contact WhatsApp has written from (known by its GHL id) can be answered
    expect((await call(payload({ phone: undefined, contactId: "never-wrote" }))).status).toBe(422);
    expect((await call(payload({ locationId: "locGone" }))).status).toBe(403);
    expect((await call(payload({ locationId: "nobody" }))).status).toBe(403);
  });
});
