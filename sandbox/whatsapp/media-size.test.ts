import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import { downloadMediaMessage, normalizeMessageContent, type WAMessage, type WASocket } from "@whiskeysockets/baileys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWaSimulator, type WaSimulator } from "./server";
import { control, endClient, linkByQr, waitFor } from "./test-kit";

// A contact's phone sending media whose size is not what it seems: a generated body (never held
// by the simulator), an announced fileLength that lies, a host that sends no Content-Length, and
// the wrappers WhatsApp puts around media. The real client decrypts what it is sent.
const ME = "15552230001";
const ZED = "15552230002";
let sim: WaSimulator;
let sock: WASocket;

type Stat = {
  path: string;
  bytes: number;
  generated: boolean;
  chunked: boolean;
  downloads: number;
  bytesServed: number;
};

beforeAll(async () => {
  sim = await startWaSimulator({ port: 0 });
  ({ sock } = await linkByQr(sim, ME));
  await control(sim, "POST", "/__sandbox/phones", { phone: ZED, name: "Zed" });
}, 30_000);
afterAll(async () => {
  endClient(sock);
  await sim.close();
});

async function send(media: Record<string, unknown>): Promise<{ m: WAMessage; mediaPath: string }> {
  const got = waitFor(sock, "messages.upsert", (u) => u.messages.some((x) => !x.key.fromMe && !!x.message));
  const r = await control<{ id: string; mediaPath: string }>(sim, "POST", `/__sandbox/phones/${ZED}/send`, {
    to: ME,
    media,
  });
  expect(r.status).toBe(200);
  const m = (await got).messages.find((x) => x.key.id === r.body.id)!;
  return { m, mediaPath: r.body.mediaPath };
}
const stat = async (path: string) =>
  (await control<Stat[]>(sim, "GET", "/__sandbox/media")).body.find((s) => s.path === path)!;

describe("media of any announced and real size", () => {
  it("a generated 3 MB document decrypts to what its hash says, announced at its real size", async () => {
    const { m, mediaPath } = await send({
      type: "document",
      mimetype: "application/pdf",
      size: 3 * 1024 * 1024,
      fileName: "big.pdf",
    });
    const doc = m.message!.documentMessage!;
    expect(Number(doc.fileLength)).toBe(3 * 1024 * 1024);
    const bytes = (await downloadMediaMessage(m, "buffer", {})) as Buffer;
    expect(bytes.length).toBe(3 * 1024 * 1024);
    expect(createHash("sha256").update(bytes).digest()).toEqual(Buffer.from(doc.fileSha256!));
    const s = await stat(mediaPath);
    expect(s).toMatchObject({ generated: true, chunked: false, downloads: 1 });
    expect(s.bytesServed).toBe(s.bytes);
    const res = await fetch(`${sim.url}${mediaPath}`);
    expect(Number(res.headers.get("content-length"))).toBe(s.bytes);
    await res.body?.cancel();
  });

  it("a lying sender: announced 1 KB, a 40 MB body served without Content-Length; a reader that stops is not fed it all", async () => {
    const { m, mediaPath } = await send({
      type: "document",
      mimetype: "application/zip",
      size: 40 * 1024 * 1024,
      chunked: true,
      fileLength: 1024,
    });
    expect(Number(m.message!.documentMessage!.fileLength)).toBe(1024);
    const res = await fetch(`${sim.url}${mediaPath}`);
    expect(res.headers.get("content-length")).toBeNull();
    const reader = res.body!.getReader();
    let read = 0;
    while (read < 1024 * 1024) read += (await reader.read()).value!.length;
    await reader.cancel();
    await new Promise((r) => setTimeout(r, 300));
    const s = await stat(mediaPath);
    expect(s.bytes).toBeGreaterThan(40 * 1024 * 1024);
    // what sits in socket buffers is counted as served, but the host stops when the reader leaves
    expect(s.bytesServed).toBeLessThan(16 * 1024 * 1024);
  });

  it("an announced 200 MB that is not: fileLength overrides a small real body", async () => {
    const { m } = await send({
      type: "video",
      mimetype: "video/mp4",
      base64: Buffer.from("tiny").toString("base64"),
      fileLength: 200 * 1024 * 1024,
      caption: "huge?",
    });
    expect(Number(m.message!.videoMessage!.fileLength)).toBe(200 * 1024 * 1024);
    expect(await downloadMediaMessage(m, "buffer", {})).toEqual(Buffer.from("tiny"));
  });

  it("wraps media as WhatsApp does: documentWithCaption, ephemeral, view once", async () => {
    for (const [wrap, key] of [
      ["documentWithCaption", "documentWithCaptionMessage"],
      ["ephemeral", "ephemeralMessage"],
      ["viewOnce", "viewOnceMessageV2"],
    ] as const) {
      const { m } = await send({
        type: "document",
        mimetype: "text/plain",
        base64: Buffer.from(wrap).toString("base64"),
        fileName: `${wrap}.txt`,
        caption: "c",
        wrap,
      });
      expect(Object.keys(m.message!)).toContain(key);
      expect(normalizeMessageContent(m.message)?.documentMessage?.fileName).toBe(`${wrap}.txt`);
      const s = (await downloadMediaMessage(m, "stream", {})) as Readable;
      const chunks: Buffer[] = [];
      for await (const c of s) chunks.push(c as Buffer);
      expect(Buffer.concat(chunks).toString()).toBe(wrap);
    }
  });

  it("refuses media with both or neither of base64 and size", async () => {
    const both = await control(sim, "POST", `/__sandbox/phones/${ZED}/send`, {
      to: ME,
      media: { type: "image", mimetype: "image/png", base64: "AA==", size: 10 },
    });
    expect(both.status).toBe(400);
    const neither = await control(sim, "POST", `/__sandbox/phones/${ZED}/send`, {
      to: ME,
      media: { type: "image", mimetype: "image/png" },
    });
    expect(neither.status).toBe(400);
  });
});
