import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POST as ghlOutbound } from "@/app/api/ghl/outbound/route";
import { GET as getMessage } from "@/app/api/messages/[id]/route";
import { POST as send } from "@/app/api/send/route";
import { createApiKey } from "@/lib/api-keys/api-keys";
import { db } from "@/lib/db";
import { params, req, useAppEnv } from "./helpers/app-env";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";

let restore: () => Promise<void>;
let keyA: string;
let keyB: string;
beforeAll(async () => {
  restore = useAppEnv({ databaseUrl: await cloneTemplateDb(dbNameFor(import.meta.filename)) });
  await db().location.createMany({
    data: [
      { id: "locA", name: "A", settings: { defaultCountry: "US" } },
      { id: "locB", name: "B" },
    ],
  });
  await db().instance.createMany({
    data: [
      { id: "ia", locationId: "locA", name: "wa-01" },
      { id: "ib", locationId: "locB", name: "wa-01" },
    ],
  });
  keyA = (await createApiKey(db(), "locA", "a")).key;
  keyB = (await createApiKey(db(), "locB", "b")).key;
});
afterAll(async () => restore());

const post = (handler: typeof send, body: unknown, key?: string) =>
  handler(req("/api/x", { method: "POST", json: body, headers: key ? { "x-api-key": key } : {} }), params({}));

describe("POST /api/send", () => {
  it("queues a text message (202) that GET /api/messages/:id then shows", async () => {
    const r = await post(send, { instanceId: "wa-01", to: "(555) 010-2000", message: "hi" }, keyA);
    expect(r.status).toBe(202);
    const body = await r.json();
    expect(body).toMatchObject({ ok: true, status: "QUEUED", duplicate: false });
    const m = await getMessage(
      req(`/api/messages/${body.messageId}`, { headers: { authorization: `Bearer ${keyA}` } }),
      params({ id: body.messageId }),
    );
    expect(m.status).toBe(200);
    expect(await m.json()).toMatchObject({
      id: body.messageId,
      status: "QUEUED",
      instanceId: "wa-01",
      to: "+15550102000",
      direction: "OUTBOUND",
    });
  });

  it("401 without a key or with a revoked/garbled key, in the one error shape", async () => {
    const r = await post(send, { instanceId: "wa-01", to: "+15550102000", message: "hi" });
    expect(r.status).toBe(401);
    expect(await r.json()).toEqual({ error: { code: "unauthorized", message: expect.stringMatching(/x-api-key/) } });
    expect((await post(send, { instanceId: "wa-01", to: "+1", message: "x" }, "gwk_nope")).status).toBe(401);
  });

  it("400 with field errors for malformed bodies, never 500", async () => {
    const r = await post(send, { instanceId: "../etc", to: "+15550102000", type: "image" }, keyA);
    expect(r.status).toBe(400);
    const e = (await r.json()).error;
    expect(e.code).toBe("validation_failed");
    expect(Object.keys(e.fields).sort()).toEqual(["instanceId", "mediaUrl"]);
    const notJson = await send(
      req("/api/send", {
        method: "POST",
        body: "{oops",
        headers: { "x-api-key": keyA, "content-type": "application/json" },
      }),
      params({}),
    );
    expect(notJson.status).toBe(400);
    // a body must be sent as JSON: anything else is 415, not parsed on a guess
    const plain = await send(
      req("/api/send", {
        method: "POST",
        body: '{"instanceId":"wa-01","to":"+15550102000","message":"x"}',
        headers: { "x-api-key": keyA },
      }),
      params({}),
    );
    expect(plain.status).toBe(415);
    expect((await post(send, { instanceId: "wa-01", to: "hello", message: "x" }, keyA)).status).toBe(400);
  });

  it("422 for a media URL naming a private or reserved address, in any spelling, and nothing is queued", async () => {
    const before = await db().message.count();
    for (const mediaUrl of [
      "http://[::ffff:7f00:1]:6379/x.png",
      "http://[::ffff:127.0.0.1]/x.png",
      "http://169.254.169.254/latest/meta-data",
      "http://[64:ff9b::a00:1]/a.pdf",
      "http://localhost:5432/a.png",
    ]) {
      for (const [handler, body] of [
        [send, { instanceId: "wa-01", to: "+15550102000", type: "image", mediaUrl }],
        [ghlOutbound, { phone: "+15550102000", message: "see attached", mediaUrl }],
      ] as const) {
        const r = await post(handler, body, keyA);
        expect(r.status, mediaUrl).toBe(422);
        expect((await r.json()).error).toEqual({
          code: "unprocessable",
          message: expect.stringMatching(/cannot be fetched: .*(private or reserved|loopback)/),
        });
      }
    }
    expect(await db().message.count()).toBe(before);
    // a public name is accepted here; the worker checks the address it connects to
    expect(
      (
        await post(
          send,
          { instanceId: "wa-01", to: "+15550102000", type: "image", mediaUrl: "https://cdn.example.com/a.png" },
          keyA,
        )
      ).status,
    ).toBe(202);
  });

  it("a location sees only its own numbers and messages", async () => {
    const r = await post(send, { instanceId: "wa-09", to: "+15550102000", message: "x" }, keyA);
    expect(r.status).toBe(404);
    const a = await (await post(send, { instanceId: "wa-01", to: "+15550102001", message: "secret" }, keyA)).json();
    const asB = await getMessage(
      req(`/api/messages/${a.messageId}`, { headers: { "x-api-key": keyB } }),
      params({ id: a.messageId }),
    );
    expect(asB.status).toBe(404);
    const row = await db().message.findUniqueOrThrow({ where: { id: a.messageId } });
    expect(row.instanceId).toBe("ia");
  });
});

describe("POST /api/ghl/outbound (workflow custom webhook)", () => {
  it("accepts {phone, message} from a GHL workflow and keeps the GHL contact id", async () => {
    const r = await post(ghlOutbound, { phone: "+15550103000", message: "from workflow", contactId: "ghlC1" }, keyB);
    expect(r.status).toBe(202);
    const c = await db().contact.findFirstOrThrow({ where: { locationId: "locB", phone: "+15550103000" } });
    expect(c.ghlContactId).toBe("ghlC1");
  });

  it("400 when neither to nor phone is given", async () => {
    const r = await post(ghlOutbound, { message: "x" }, keyB);
    expect(r.status).toBe(400);
    expect((await r.json()).error.fields.to).toBeDefined();
  });
});

describe("/api/ghl/inbound-test", () => {
  it("records what it receives per location and lists it back only to that location", async () => {
    const { POST, GET } = await import("@/app/api/ghl/inbound-test/route");
    const { redis } = await import("@/lib/redis");
    await redis().del("gw:inbound-test:locA", "gw:inbound-test:locB");
    expect(
      (
        await POST(
          req("/x", { method: "POST", json: { from: "+1555", text: "hi" }, headers: { "x-api-key": keyA } }),
          params({}),
        )
      ).status,
    ).toBe(201);
    const a = await (await GET(req("/x", { headers: { "x-api-key": keyA } }), params({}))).json();
    expect(a.received).toEqual([expect.objectContaining({ body: { from: "+1555", text: "hi" } })]);
    const b = await (await GET(req("/x", { headers: { "x-api-key": keyB } }), params({}))).json();
    expect(b.received).toEqual([]);
    expect(
      (await POST(req("/x", { method: "POST", json: [1, 2], headers: { "x-api-key": keyA } }), params({}))).status,
    ).toBe(400);
  });
});
