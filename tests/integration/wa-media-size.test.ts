import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "@/lib/db";
import { postInboundToGhl } from "@/lib/messages/ghl-post";
import type { GhlJob } from "@/lib/queue/ghl-jobs";
import { type FakeGhlPost, fakeGhl } from "./helpers/fake-ghl";
import { linkNumberByQr, type SimDevice, simCall, startMessagingFixture, until } from "./helpers/wa-fixture";

// Inbound media over the size limit, through the real Baileys client and the WhatsApp simulator,
// with the limit set to 2 MB: a document announced (and really) 200 MB is never fetched; a sender
// that announces 512 KB and sends 64 MB is cut off near the limit, whether its host says the real
// length or not. Each reaches GHL once, as a line saying what was not imported; the socket stays
// up and the next message still arrives; an attachment under the limit is still imported whole.
const NUMBER = "15552440001";
const CONTACT = "15552449999";
const MB = 1024 * 1024;
const LIMIT = 2 * MB;

let db: Db;
let fixture: Fixture | undefined;
type Fixture = Awaited<ReturnType<typeof startMessagingFixture>>;
type MediaStat = { path: string; bytes: number; downloads: number; bytesServed: number };

const posts: FakeGhlPost[] = [];
const postErrors: unknown[] = [];
const logs: Record<string, unknown>[] = [];
let posting: Promise<unknown> = Promise.resolve();

beforeAll(async () => {
  const ghl = fakeGhl(posts);
  // the worker's log, kept to read what the download saw (level warn and above)
  const log = pino({ level: "warn" }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  fixture = await startMessagingFixture({
    testFile: import.meta.filename,
    workerId: "media-size-worker",
    pool: 6,
    log,
    maxMediaBytes: LIMIT,
    // each inbound job posted to a fake GHL, one after the other, as the GHL queue would
    notifyGhl: async (j: GhlJob) => {
      if (j.kind !== "inbound") return;
      posting = posting
        .then(() =>
          postInboundToGhl(
            db,
            ghl,
            { locationId: j.locationId, messageId: j.messageId },
            { appUrl: "http://app.test", conversationProviderId: "" },
          ),
        )
        .catch((e) => postErrors.push(e));
    },
  });
  db = fixture.db;
  await db.location.create({ data: { id: "locZ", name: "Z" } });
  await db.instance.create({ data: { id: "iz", locationId: "locZ", name: "wa-01" } });
  await simCall(fixture.sim, "POST", "/__sandbox/phones", { phone: NUMBER });
  await simCall(fixture.sim, "POST", "/__sandbox/phones", { phone: CONTACT, name: "Zoe" });
  await linkNumberByQr(fixture, "locZ", NUMBER, "iz");
}, 90_000);
afterAll(async () => {
  await fixture?.close();
});

async function contactSends(body: Record<string, unknown>): Promise<{ id: string; mediaPath?: string }> {
  return simCall(fixture!.sim, "POST", `/__sandbox/phones/${CONTACT}/send`, { to: NUMBER, ...body });
}
const postsOf = (waId: string) => posts.filter((p) => p.altId === waId);
const posted = (waId: string, ms = 45_000) => until(`GHL post of ${waId}`, async () => postsOf(waId)[0], ms);
const mediaStat = async (path: string) =>
  (await simCall<MediaStat[]>(fixture!.sim, "GET", "/__sandbox/media")).find((s) => s.path === path)!;
const device = async () =>
  (await simCall<SimDevice[]>(fixture!.sim, "GET", "/__sandbox/devices")).find((d) => d.phone === NUMBER)!;
const overLimitLog = (waId: string) =>
  logs.find((l) => l.waMessageId === waId && l.msg === "inbound media over the size limit: not imported");

/** The socket is the same one, and a plain text after the big file still reaches GHL. */
async function stillWorking(before: SimDevice, text: string) {
  const next = await contactSends({ text });
  expect((await posted(next.id)).message).toBe(text);
  const now = await device();
  expect(now.connected).toBe(true);
  expect(now.logins).toBe(before.logins);
  expect((await db.instance.findUnique({ where: { id: "iz" } }))?.status).toBe("ONLINE");
}

describe("inbound media over the size limit", () => {
  it("a document announced at 200 MB: never fetched, GHL gets one line naming it, with its caption", async () => {
    const before = await device();
    // a captioned document comes wrapped in documentWithCaptionMessage, as from a real phone
    const sent = await contactSends({
      media: {
        type: "document",
        mimetype: "application/pdf",
        size: 200 * MB,
        fileName: "catalogue-2027.pdf",
        caption: "our new catalogue",
        wrap: "documentWithCaption",
      },
    });
    const post = await posted(sent.id);
    expect(post.message).toBe(
      '[Document "catalogue-2027.pdf" (200 MB) not imported: larger than the 2 MB limit]\nour new catalogue',
    );
    // marked SYNCED right after GHL answered
    const row = await until("SYNCED", async () =>
      db.message.findFirst({ where: { instanceId: "iz", waMessageId: sent.id, status: "SYNCED" } }),
    );
    expect(row).toMatchObject({ type: "document", mediaRef: null });
    // not one byte asked of the media host
    expect(await mediaStat(sent.mediaPath!)).toMatchObject({ downloads: 0, bytesServed: 0 });
    await stillWorking(before, "did you get my catalogue?");
    expect(postsOf(sent.id)).toHaveLength(1);
  });

  it("a sender that announces 512 KB and sends 64 MB from a host with no Content-Length: cut off near the limit", async () => {
    const before = await device();
    const sent = await contactSends({
      media: {
        type: "document",
        mimetype: "application/zip",
        size: 64 * MB,
        fileLength: 512 * 1024,
        chunked: true,
        fileName: "small.zip",
      },
    });
    const post = await posted(sent.id);
    // the announced size was a lie and the real one is unknown: no size is claimed
    expect(post.message).toBe('[Document "small.zip" not imported: larger than the 2 MB limit]');
    const seen = overLimitLog(sent.id) as { readBytes: number; announcedBytes: number };
    expect(seen.announcedBytes).toBe(512 * 1024);
    // the worker read past the limit by at most one chunk of the body, then dropped the connection
    expect(seen.readBytes).toBeGreaterThan(LIMIT);
    expect(seen.readBytes).toBeLessThan(LIMIT + 256 * 1024);
    await new Promise((r) => setTimeout(r, 300));
    const stat = await mediaStat(sent.mediaPath!);
    expect(stat.downloads).toBe(1); // not tried again
    // the host stopped too: what it wrote is the limit plus what socket buffers took, not 64 MB
    expect(stat.bytesServed).toBeLessThan(LIMIT + 14 * MB);
    expect(stat.bytes).toBeGreaterThan(64 * MB);
    await stillWorking(before, "sorry, wrong file");
    expect(postsOf(sent.id)).toHaveLength(1);
  });

  it("the same lie from a host that sends the real Content-Length: refused before the body is read", async () => {
    const before = await device();
    const sent = await contactSends({
      media: { type: "video", mimetype: "video/mp4", size: 64 * MB, fileLength: 512 * 1024, caption: "watch this" },
    });
    const post = await posted(sent.id);
    // the host's Content-Length is the real size (within the 26 bytes of padding and MAC)
    expect(post.message).toBe("[Video (64 MB) not imported: larger than the 2 MB limit]\nwatch this");
    expect((overLimitLog(sent.id) as { readBytes: number }).readBytes).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    const stat = await mediaStat(sent.mediaPath!);
    expect(stat.downloads).toBe(1);
    expect(stat.bytesServed).toBeLessThan(14 * MB);
    await stillWorking(before, "the video is too big, nevermind");
    expect(postsOf(sent.id)).toHaveLength(1);
  });

  it("an image under the limit is still imported whole, and a generated one at the limit too", async () => {
    const photo = randomBytes(300 * 1024);
    const small = await contactSends({
      media: {
        type: "image",
        mimetype: "image/jpeg",
        base64: photo.toString("base64"),
        caption: "small one",
        wrap: "ephemeral",
      },
    });
    expect((await posted(small.id)).message).toBe("small one");
    const row = await db.message.findFirstOrThrow({ where: { instanceId: "iz", waMessageId: small.id } });
    const blob = await db.mediaBlob.findUniqueOrThrow({ where: { id: (row.mediaRef as { mediaId: string }).mediaId } });
    expect(Buffer.from(blob.data).equals(photo)).toBe(true);

    const exact = await contactSends({
      media: { type: "document", mimetype: "application/pdf", size: LIMIT, fileName: "exact.pdf" },
    });
    expect((await posted(exact.id)).message).toBe("");
    const exactRow = await db.message.findFirstOrThrow({ where: { instanceId: "iz", waMessageId: exact.id } });
    const exactBlob = await db.mediaBlob.findUniqueOrThrow({
      where: { id: (exactRow.mediaRef as { mediaId: string }).mediaId },
    });
    expect(exactBlob.size).toBe(LIMIT);
    // decrypted, not garbage: the simulator's plaintext is one 64 KiB block over and over
    const data = Buffer.from(exactBlob.data);
    expect(data.subarray(0, 64 * 1024).equals(data.subarray(LIMIT - 64 * 1024))).toBe(true);
  });

  it("a message naming a download URL inside our network: never fetched, GHL gets one line, not retried", async () => {
    // a service on loopback, as a metadata endpoint or an admin port would be
    let hits = 0;
    const internal = createServer((_req, res) => {
      hits++;
      res.end("secret");
    });
    await new Promise<void>((r) => internal.listen(0, "127.0.0.1", r));
    const port = (internal.address() as AddressInfo).port;
    try {
      const before = await device();
      for (const url of [
        `http://127.0.0.1:${port}/latest/meta-data`,
        `http://[::ffff:127.0.0.1]:${port}/x`,
        `http://localhost:${port}/y`,
      ]) {
        const sent = await contactSends({
          media: {
            type: "image",
            mimetype: "image/jpeg",
            base64: randomBytes(2048).toString("base64"),
            caption: "look",
            url,
          },
        });
        expect((await posted(sent.id)).message, url).toBe(
          "[Image not imported: its download address is not a public one]\nlook",
        );
        expect(
          logs.some(
            (l) =>
              l.waMessageId === sent.id && l.msg === "inbound media URL on a private or reserved address: not fetched",
          ),
          url,
        ).toBe(true);
      }
      await stillWorking(before, "sorry, wrong file");
      expect(hits).toBe(0);
    } finally {
      internal.closeAllConnections();
      await new Promise((r) => internal.close(r));
    }
  });

  it("nothing was given up or posted twice, and no post failed", async () => {
    await posting;
    expect(postErrors).toEqual([]);
    const byAltId = new Map<string, number>();
    for (const p of posts) byAltId.set(p.altId, (byAltId.get(p.altId) ?? 0) + 1);
    expect([...byAltId.values()].every((n) => n === 1)).toBe(true);
    expect(logs.filter((l) => String(l.msg).includes("NOT recorded"))).toEqual([]);
  });
});
