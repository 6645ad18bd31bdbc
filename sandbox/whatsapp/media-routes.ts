// The media host's HTTP side: uploads as Baileys' getWAUploadToServer sends them, and downloads
// by direct path. Uploads are checked against the hash in the URL, as WhatsApp's CDN does.
// Generated bodies (a contact's "size" sends) are encrypted as they are written, at the pace the
// client reads them, so a 2 GB one costs no memory; `bytesServed` counts what left for the client.
import type { IncomingMessage, ServerResponse } from "node:http";
import { encryptedSize, generatedChunks, type MediaEntry, sha256 } from "./media-store";
import type { Sim } from "./sim";

const MAX_UPLOAD = 100 * 1024 * 1024;

export async function handleMedia(sim: Sim, req: IncomingMessage, res: ServerResponse): Promise<boolean> {
  const url = new URL(req.url ?? "/", "http://x");
  const upload = /^\/(?:mms\/[a-z-]+|product\/image|pps\/[a-z-]+)\/([^/]+)$/.exec(url.pathname);
  if (req.method === "POST" && upload) {
    const body = await readBody(req);
    if (!body) return (json(res, 413, { error: "too large" }), true);
    const expected = decodeURIComponent(upload[1]);
    const actual = sha256(body).toString("base64url");
    if (expected.replace(/=+$/, "") !== actual) return (json(res, 400, { error: "hash mismatch" }), true);
    const directPath = sim.media.put(body);
    json(res, 200, { url: `https://${sim.mediaHost()}${directPath}`, direct_path: directPath });
    return true;
  }
  if (req.method === "GET" && url.pathname.startsWith("/v/sim/")) {
    const e = sim.media.entry(url.pathname);
    if (!e) return (json(res, 404, { error: "gone" }), true);
    e.downloads++;
    if (e.data) {
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": e.data.length });
      res.end(e.data);
      e.bytesServed += e.data.length;
      return true;
    }
    await serveGenerated(e, res);
    return true;
  }
  return false;
}

async function serveGenerated(e: MediaEntry, res: ServerResponse): Promise<void> {
  const g = e.generated!;
  res.writeHead(200, {
    "content-type": "application/octet-stream",
    ...(g.chunked ? {} : { "content-length": encryptedSize(g.size) }),
  });
  let closed = false;
  res.on("close", () => void (closed = true));
  for await (const chunk of generatedChunks(g)) {
    if (closed) return; // the client went away: stop encrypting
    e.bytesServed += chunk.length;
    if (!res.write(chunk)) {
      await new Promise<void>((r) => {
        const done = () => (res.off("drain", done), res.off("close", done), r());
        res.on("drain", done);
        res.on("close", done);
      });
    }
  }
  if (!closed) res.end();
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_UPLOAD) return undefined;
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}
