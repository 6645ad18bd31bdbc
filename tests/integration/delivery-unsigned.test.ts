import { createPrivateKey, generateKeyPairSync, sign } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POST as POST_LOCATION } from "@/app/api/ghl/delivery/[token]/route";
import { POST } from "@/app/api/ghl/delivery/route";
import { db } from "@/lib/db";
import { resetEnvCache } from "@/lib/env";
import { locationDeliveryUrl } from "@/lib/messages/delivery";
import { params, useAppEnv } from "./helpers/app-env";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";

// GHL_DELIVERY_ALLOW_UNSIGNED (sandbox only) used to let anyone who could reach the app send
// WhatsApp messages from any location's numbers by naming its locationId. Now an unsigned call
// must come through the location's own URL, whose secret only that location's URL carries; and a
// configured conversation provider id is checked on every call, signed or not.
const ed = generateKeyPairSync("ed25519", {
  publicKeyEncoding: { type: "spki", format: "pem" },
  privateKeyEncoding: { type: "pkcs8", format: "pem" },
});
const PROVIDER = "provider-ours-0001";
let restore: () => Promise<void>;

beforeAll(async () => {
  restore = useAppEnv({
    databaseUrl: await cloneTemplateDb(dbNameFor(import.meta.filename)),
    extra: {
      GHL_WEBHOOK_PUBLIC_KEY_ED25519: ed.publicKey,
      GHL_DELIVERY_ALLOW_UNSIGNED: "true",
      GHL_CONVERSATION_PROVIDER_ID: PROVIDER,
    },
  });
  await db().location.createMany({
    data: [
      { id: "locA", name: "A" },
      { id: "locB", name: "B" },
    ],
  });
  await db().instance.createMany({
    data: [
      { id: "iA", locationId: "locA", name: "wa-01" },
      { id: "iB", locationId: "locB", name: "wa-01" },
    ],
  });
});
afterAll(async () => restore());

const payload = (o: Record<string, unknown> = {}) => ({
  contactId: "c1",
  locationId: "locA",
  messageId: `g${Math.random()}`,
  type: "SMS",
  phone: "+15550007777",
  message: "Hello",
  attachments: [],
  ...o,
});
const tokenOf = (locationId: string) =>
  new URL(locationDeliveryUrl("http://127.0.0.1:3999", locationId)).pathname.split("/").pop()!;

// a body produced only as it is read, so the test sees whether the route read it
function streamed(raw: Buffer) {
  const seen = { pulled: false };
  const body = new ReadableStream<Uint8Array>(
    {
      pull(c) {
        seen.pulled = true;
        c.enqueue(new Uint8Array(raw));
        c.close();
      },
    },
    { highWaterMark: 0 },
  ); // nothing is pulled until someone reads
  return { body, seen };
}

async function call(body: unknown, o: { token?: string; signed?: boolean } = {}) {
  const raw = Buffer.from(JSON.stringify(body));
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (o.signed) headers["x-ghl-signature"] = sign(null, raw, createPrivateKey(ed.privateKey)).toString("base64");
  const s = streamed(raw);
  const path = o.token === undefined ? "/api/ghl/delivery" : `/api/ghl/delivery/${o.token}`;
  const request = new Request(`http://127.0.0.1:3999${path}`, {
    method: "POST",
    body: s.body,
    headers,
    duplex: "half",
  } as RequestInit);
  const r =
    o.token === undefined ? await POST(request, params({})) : await POST_LOCATION(request, params({ token: o.token }));
  return { status: r.status, body: await r.json(), read: s.seen.pulled };
}
const stored = async (messageId: unknown) => db().message.count({ where: { ghlMessageId: String(messageId) } });

describe("unsigned Delivery URL calls (GHL_DELIVERY_ALLOW_UNSIGNED=true)", () => {
  it("refuses an unsigned call to the shared /api/ghl/delivery without reading it, whatever locationId it names", async () => {
    for (const loc of ["locA", "locB"]) {
      const p = payload({ locationId: loc });
      const r = await call(p);
      expect(r.status).toBe(401);
      expect(r.body.error.message).toMatch(/not signed/);
      expect(r.read).toBe(false);
      expect(await stored(p.messageId)).toBe(0);
    }
  });

  it("accepts an unsigned call through the location's own URL, for that location", async () => {
    const p = payload();
    const r = await call(p, { token: tokenOf("locA") });
    expect(r.status).toBe(200);
    expect((await db().message.findUniqueOrThrow({ where: { ghlMessageId: p.messageId } })).instanceId).toBe("iA");
  });

  it("refuses a location's URL used for another location's payload (403), and nothing is stored", async () => {
    const p = payload({ locationId: "locB" });
    const r = await call(p, { token: tokenOf("locA") });
    expect(r.status).toBe(403);
    expect(r.body.error.message).toMatch(/another location/);
    expect(await stored(p.messageId)).toBe(0);
  });

  it("refuses a wrong or forged secret (401) before reading the body", async () => {
    const a = tokenOf("locA");
    const b = tokenOf("locB");
    const forged = [
      `locB.${a.split(".")[1]}`, // locA's secret with locB's id
      `locA.${"A".repeat(43)}`,
      `locA.${a.split(".")[1].slice(0, -1)}`,
      "locA",
      "",
      `${"x".repeat(80)}.${b.split(".")[1]}`,
    ];
    for (const token of forged) {
      const p = payload({ locationId: "locB" });
      const r = await call(p, { token });
      expect(r.status, token).toBe(401);
      expect(r.read, token).toBe(false);
      expect(await stored(p.messageId)).toBe(0);
    }
  });

  it("with the flag off, the location's URL takes signed calls only", async () => {
    process.env.GHL_DELIVERY_ALLOW_UNSIGNED = "false";
    resetEnvCache();
    try {
      const p = payload();
      const unsigned = await call(p, { token: tokenOf("locA") });
      expect([unsigned.status, unsigned.read]).toEqual([401, false]);
      expect((await call(p, { token: tokenOf("locA"), signed: true })).status).toBe(200);
      expect((await call(payload({ locationId: "locB" }), { token: tokenOf("locA"), signed: true })).status).toBe(403);
    } finally {
      process.env.GHL_DELIVERY_ALLOW_UNSIGNED = "true";
      resetEnvCache();
    }
  });
});

describe("conversation provider id (GHL_CONVERSATION_PROVIDER_ID set)", () => {
  it("refuses a signed call naming another provider (403), accepts ours or none (the SMS provider sends none)", async () => {
    const other = payload({ type: "Custom", conversationProviderId: "someone-elses-provider" });
    const r = await call(other, { signed: true });
    expect(r.status).toBe(403);
    expect(r.body.error.message).toMatch(/conversation provider/);
    expect(await stored(other.messageId)).toBe(0);
    const unsignedOther = payload({ type: "Custom", conversationProviderId: "someone-elses-provider" });
    expect((await call(unsignedOther, { token: tokenOf("locA") })).status).toBe(403);
    for (const p of [payload({ type: "Custom", conversationProviderId: PROVIDER }), payload()]) {
      expect((await call(p, { signed: true })).status).toBe(200);
      expect(await stored(p.messageId)).toBe(1);
    }
  });
});
