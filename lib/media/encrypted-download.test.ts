import { createCipheriv, randomBytes } from "node:crypto";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { BlockedAddressError } from "../net/guarded-request";
import { downloadEncrypted, encryptedCeiling, MediaHostError } from "./encrypted-download";

// A media host on loopback that serves AES-256-CBC bodies the way WhatsApp's CDN does (ciphertext
// + 10-byte MAC), honestly or not: with or without Content-Length, cut short, stalled. It counts
// what it managed to write, so "stops near the cap" is measured where the bytes come from.
const cipherKey = randomBytes(32);
const iv = randomBytes(16);
const KB = 1024;
const MB = 1024 * KB;

function encrypt(plain: Buffer): Buffer {
  const c = createCipheriv("aes-256-cbc", cipherKey, iv);
  return Buffer.concat([c.update(plain), c.final(), randomBytes(10)]);
}

type Route = (res: ServerResponse) => void | Promise<void>;
const routes = new Map<string, Route>();
let server: Server;
let base: string;
let written = 0;
let closedEarly = false;
let hits = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    hits++;
    res.on("close", () => void (closedEarly = !res.writableFinished));
    const r = routes.get(req.url ?? "");
    if (!r) return void res.writeHead(404).end();
    void r(res);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  written = 0;
  closedEarly = false;
});

/** `total` bytes of ciphertext written as fast as the client reads, 64 KB at a time. */
function endless(total: number, withLength: boolean): Route {
  return async (res) => {
    res.writeHead(200, withLength ? { "content-length": total } : {});
    const chunk = randomBytes(64 * KB);
    let open = true;
    res.on("close", () => void (open = false));
    while (open && written < total) {
      written += chunk.length;
      if (!res.write(chunk)) {
        await new Promise<void>((r) => {
          const done = () => (res.off("drain", done), res.off("close", done), r());
          res.on("drain", done).on("close", done);
        });
      }
    }
    if (open) res.end();
  };
}

// the test host is on loopback: on the allow-list, as the sandbox's media host is
const get = (path: string, limit: number, extra: { idleTimeoutMs?: number } = {}) =>
  downloadEncrypted({ url: `${base}${path}`, cipherKey, iv, limit, guard: { allowedOrigins: [base] }, ...extra });
const settle = () => new Promise((r) => setTimeout(r, 200));

describe("downloadEncrypted", () => {
  it("never connects to a private or reserved address unless its origin is allowed (the URL is the sender's word)", async () => {
    const hitsBefore = hits;
    for (const url of [
      `${base}/honest`,
      base.replace("127.0.0.1", "[::ffff:127.0.0.1]") + "/honest",
      base.replace("127.0.0.1", "localhost") + "/honest",
    ]) {
      await expect(downloadEncrypted({ url, cipherKey, iv, limit: MB }), url).rejects.toBeInstanceOf(
        BlockedAddressError,
      );
    }
    // a public name that resolves into our network (DNS rebinding) is refused at connect time
    const rebinding = downloadEncrypted({
      url: base.replace("127.0.0.1", "media.example.com") + "/honest",
      cipherKey,
      iv,
      limit: MB,
      guard: { resolve: async () => [{ address: "127.0.0.1", family: 4 }] },
    });
    await expect(rebinding).rejects.toBeInstanceOf(BlockedAddressError);
    expect(hits).toBe(hitsBefore);
  });

  it("decrypts an honest body, with or without Content-Length, up to exactly the limit", async () => {
    const plain = randomBytes(2 * MB);
    const enc = encrypt(plain);
    routes.set("/ok", (res) => void res.writeHead(200, { "content-length": enc.length }).end(enc));
    routes.set("/ok-chunked", (res) => {
      res.writeHead(200);
      for (let i = 0; i < enc.length; i += 7777) res.write(enc.subarray(i, i + 7777));
      res.end();
    });
    for (const path of ["/ok", "/ok-chunked"]) {
      const got = await get(path, 2 * MB);
      expect(got.ok).toBe(true);
      if (got.ok) expect(got.bytes.equals(plain)).toBe(true);
    }
    // one byte more than the limit is over it
    const over = await get("/ok-chunked", 2 * MB - 1);
    expect(over.ok).toBe(false);
  });

  it("stops a body with no Content-Length at the cap: the request is torn down, not left paused", async () => {
    routes.set("/endless", endless(256 * MB, false));
    const got = await get("/endless", 2 * MB);
    expect(got).toMatchObject({ ok: false, declaredBytes: null });
    expect(got.fetchedBytes).toBeLessThanOrEqual(encryptedCeiling(2 * MB) + 64 * KB);
    expect(got.fetchedBytes).toBeGreaterThan(2 * MB);
    await settle();
    expect(closedEarly).toBe(true);
    // what the host wrote: the cap plus what socket buffers took in, nowhere near the body
    expect(written).toBeLessThan(2 * MB + 12 * MB);
  });

  it("refuses a Content-Length over the cap before reading the body", async () => {
    routes.set("/declared", endless(256 * MB, true));
    const got = await get("/declared", 2 * MB);
    expect(got).toEqual({ ok: false, fetchedBytes: 0, declaredBytes: 256 * MB });
    await settle();
    expect(closedEarly).toBe(true);
    expect(written).toBeLessThan(12 * MB);
  });

  it("a body cut short by the host rejects the promise (nothing thrown out of the process)", async () => {
    routes.set("/cut", (res) => {
      res.writeHead(200, { "content-length": 10 * MB });
      res.write(randomBytes(MB));
      setTimeout(() => res.socket?.destroy(), 50);
    });
    await expect(get("/cut", 20 * MB)).rejects.toThrow(/media download failed after \d+ bytes/);
  });

  it("a host that stalls is given up after the idle timeout", async () => {
    routes.set("/stall", (res) => {
      res.writeHead(200);
      res.write(randomBytes(32 * KB));
    });
    const t0 = Date.now();
    await expect(get("/stall", 2 * MB, { idleTimeoutMs: 300 })).rejects.toThrow(/sent nothing for 300 ms/);
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it("an HTTP failure carries its status (404/410 ask the sender to upload again)", async () => {
    const err = await get("/missing", MB).catch((e) => e);
    expect(err).toBeInstanceOf(MediaHostError);
    expect((err as MediaHostError).status).toBe(404);
  });
});
