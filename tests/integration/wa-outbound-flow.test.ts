import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "@/lib/db";
import { acceptOutbound } from "@/lib/messages/accept-outbound";
import { metrics } from "@/lib/ops/metrics";
import { simCall, startMessagingFixture, until, watchEvents } from "./helpers/wa-fixture";

// GHL → WhatsApp through the real Baileys client and the simulator, measured at the contact's
// phone: two numbers with 30 messages each are paced independently; one GHL messageId delivered
// three times reaches the phone once; a GHL attachment URL arrives as the same image.
const TEXT_DELAY_MS = 150;
const N = 30;
const NUM1 = "15553330001";
const NUM2 = "15553330002";
const CONTACT1 = "15553339991";
const CONTACT2 = "15553339992";
const LOC = "locP";

type Inbox = {
  id: string;
  from: string;
  text?: string;
  at: string;
  media?: { type: string; mimetype: string; base64?: string; caption?: string; intact?: boolean };
}[];

let db: Db;
let sim: Fixture["sim"];
let redis: Redis;
let worker: Fixture["worker"];
let fixture: Fixture | undefined;
type Fixture = Awaited<ReturnType<typeof startMessagingFixture>>;
let files: Server;
let filesUrl: string;
const png = readFileSync(path.join(process.cwd(), "public", "e2e-image.png"));

beforeAll(async () => {
  // where GHL keeps a conversation's attachments (a local server; MEDIA_URL_ALLOWED_ORIGINS lists it)
  files = createServer((req, res) => {
    if (req.url === "/card.png")
      return void res.writeHead(200, { "content-type": "image/png", "content-length": png.length }).end(png);
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => files.listen(0, "127.0.0.1", () => r()));
  filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
  fixture = await startMessagingFixture({
    testFile: import.meta.filename,
    workerId: "pace-worker",
    pool: 8,
    textDelayMs: TEXT_DELAY_MS,
    mediaAllowedOrigins: [filesUrl],
  });
  ({ db, sim, redis, worker } = fixture);
  await db.location.create({ data: { id: LOC, name: "P" } });
  await db.instance.createMany({
    data: [
      { id: "ip1", locationId: LOC, name: "wa-01" },
      { id: "ip2", locationId: LOC, name: "wa-02" },
    ],
  });
  for (const phone of [NUM1, NUM2, CONTACT1, CONTACT2]) await simCall(sim, "POST", "/__sandbox/phones", { phone });
});
afterAll(async () => {
  files?.close();
  await fixture?.close();
});

const inbox = (phone: string) => simCall<Inbox>(sim, "GET", `/__sandbox/phones/${phone}/inbox`);
const send = (contact: string, instanceName: string, text: string, ghlMessageId?: string, attachments: string[] = []) =>
  acceptOutbound(db, redis, {
    locationId: LOC,
    ghlMessageId,
    phone: `+${contact}`,
    text,
    attachments,
    source: "GHL",
    instanceName,
    allowedMediaOrigins: [filesUrl],
  });

describe("GHL → WhatsApp through the real client", () => {
  it("links two numbers", async () => {
    const ev = await watchEvents(`${process.env.TEST_REDIS_URL}/1`, LOC);
    await worker.m.start();
    for (const [id, phone] of [
      ["ip1", NUM1],
      ["ip2", NUM2],
    ] as const) {
      const qr = await until(`a QR for ${id}`, async () =>
        ev.events.find((e) => e.type === "instance.qr" && e.instanceId === id),
      );
      await simCall(sim, "POST", `/__sandbox/phones/${phone}/scan`, { qr: (qr as { qr: string }).qr });
    }
    await until(
      "both ONLINE",
      async () => (await db.instance.count({ where: { locationId: LOC, status: "ONLINE" } })) === 2,
      40_000,
    );
    await ev.close();
  });

  let attempt = 0;
  it(`paces two numbers with ${N} messages each independently: gaps of ${TEXT_DELAY_MS} ms per number, both at once`, {
    timeout: 90_000,
  }, async () => {
    // all 60 queued before either number sends; texts unique to this attempt (vitest may retry)
    const run = ++attempt;
    const [p1, p2] = [`one-${run}-`, `two-${run}-`];
    for (let i = 0; i < N; i++) {
      await send(CONTACT1, "wa-01", `${p1}${i}`);
      await send(CONTACT2, "wa-02", `${p2}${i}`);
    }
    const [a, b] = await until(
      "60 messages at the phones",
      async () => {
        const [x, y] = [
          (await inbox(CONTACT1)).filter((m) => m.text?.startsWith(p1)),
          (await inbox(CONTACT2)).filter((m) => m.text?.startsWith(p2)),
        ];
        return x.length === N && y.length === N ? [x, y] : undefined;
      },
      60_000,
      250,
    );
    for (const [got, prefix, from] of [
      [a, p1, NUM1],
      [b, p2, NUM2],
    ] as const) {
      // FIFO per number, every message once, from its own number
      expect(got.map((m) => m.text)).toEqual(Array.from({ length: N }, (_, i) => `${prefix}${i}`));
      expect(new Set(got.map((m) => m.from))).toEqual(new Set([from]));
      const t = got.map((m) => Date.parse(m.at));
      const gaps = t.slice(1).map((x, i) => x - t[i]);
      const sorted = [...gaps].sort((p, q) => p - q);
      // measured at the phone, so a gap also holds the send itself; arrival jitter of a few ms
      expect(sorted[0], `${prefix} gaps ${gaps.join(",")}`).toBeGreaterThanOrEqual(TEXT_DELAY_MS - 15);
      expect(sorted[Math.floor(sorted.length / 2)], `${prefix} median gap`).toBeGreaterThanOrEqual(TEXT_DELAY_MS);
      console.info(
        `[pacing] ${prefix} ${N} messages in ${t[N - 1] - t[0]} ms; gaps min ${sorted[0]} median ${sorted[Math.floor(sorted.length / 2)]} max ${sorted[sorted.length - 1]} ms`,
      );
    }
    // independent: the two streams overlap in time rather than one waiting for the other
    const [a0, aN, b0, bN] = [
      Date.parse(a[0].at),
      Date.parse(a[N - 1].at),
      Date.parse(b[0].at),
      Date.parse(b[N - 1].at),
    ];
    const overlap = Math.min(aN, bN) - Math.max(a0, b0);
    expect(overlap, "the streams overlap").toBeGreaterThan(0.6 * (N - 1) * TEXT_DELAY_MS);
  });

  it("the same GHL messageId delivered 3 times (twice at once) reaches the phone once", async () => {
    const before = (await inbox(CONTACT1)).length;
    const results = await Promise.all([
      send(CONTACT1, "wa-01", "only once", "G-dup-1"),
      send(CONTACT1, "wa-01", "only once", "G-dup-1"),
    ]);
    const third = await send(CONTACT1, "wa-01", "only once", "G-dup-1");
    expect(new Set([...results, third].map((r) => r.id)).size).toBe(1);
    expect([...results, third].filter((r) => !r.duplicate)).toHaveLength(1);
    await until(
      "sent",
      async () => (await db.message.findUniqueOrThrow({ where: { id: third.id } })).status === "SENT",
      20_000,
    );
    // a marker sent afterwards on the same number: once it is there, anything queued before it is too
    await send(CONTACT1, "wa-01", "marker after dup");
    await until("the marker", async () => (await inbox(CONTACT1)).some((m) => m.text === "marker after dup"), 20_000);
    const after = (await inbox(CONTACT1)).slice(before);
    expect(after.filter((m) => m.text === "only once")).toHaveLength(1);
    expect(await db.message.count({ where: { ghlMessageId: "G-dup-1" } })).toBe(1);
  });

  it("a GHL attachment URL reaches the phone as the same image, with the text as caption", async () => {
    const r = await send(CONTACT2, "wa-02", "your card", "G-media-1", [`${filesUrl}/card.png`]);
    const got = await until(
      "the image at the phone",
      async () => (await inbox(CONTACT2)).find((m) => m.media?.type === "image"),
      30_000,
    );
    expect(got.media).toMatchObject({ mimetype: "image/png", caption: "your card", intact: true });
    expect(Buffer.from(got.media!.base64!, "base64").equals(png)).toBe(true);
    expect(await db.message.findUniqueOrThrow({ where: { id: r.id } })).toMatchObject({
      status: "SENT",
      waMessageId: got.id,
    });
  });

  it("the worker's metrics count what was sent and how long sends took", async () => {
    const text = await metrics().render();
    const sent = Number(/^gw_wa_sends_total\{result="sent"\} (\d+)$/m.exec(text)?.[1]);
    expect(sent).toBeGreaterThanOrEqual(2 * N + 2);
    expect(Number(/^gw_wa_send_seconds_count\{kind="text"\} (\d+)$/m.exec(text)?.[1])).toBeGreaterThanOrEqual(
      2 * N + 1,
    );
    expect(Number(/^gw_wa_send_seconds_count\{kind="media"\} (\d+)$/m.exec(text)?.[1])).toBe(1);
  });
});
