import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchRemoteMedia, isPrivateAddress } from "./fetch-remote";

let server: Server;
let base: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === "/cat.png") {
      res.writeHead(200, { "content-type": "image/png" });
      return res.end(Buffer.alloc(1000, 1));
    }
    if (req.url === "/big") {
      res.writeHead(200, { "content-type": "image/png" });
      return res.end(Buffer.alloc(5000, 1));
    }
    if (req.url === "/redirect-private") {
      res.writeHead(302, { location: "http://10.0.0.1/secret" });
      return res.end();
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe("fetchRemoteMedia", () => {
  it("downloads when private addresses are allowed (sandbox)", async () => {
    const m = await fetchRemoteMedia(`${base}/cat.png`, { allowPrivate: true, accept: /^image\// });
    expect(m.bytes.length).toBe(1000);
    expect(m.contentType).toBe("image/png");
    expect(m.fileName).toBe("cat.png");
  });

  it("refuses loopback and private hosts otherwise, including via DNS", async () => {
    await expect(fetchRemoteMedia(`${base}/cat.png`)).rejects.toThrow(/private network/);
    await expect(fetchRemoteMedia("http://internal.example/x", { resolve: async () => ["192.168.1.5"] })).rejects.toThrow(/private network/);
  });

  it("refuses other schemes, credentials, oversize and wrong content types", async () => {
    await expect(fetchRemoteMedia("file:///etc/passwd")).rejects.toThrow(/http or https/);
    await expect(fetchRemoteMedia("http://u:p@example.com/x")).rejects.toThrow(/credentials/);
    await expect(fetchRemoteMedia(`${base}/big`, { allowPrivate: true, maxBytes: 4000 })).rejects.toThrow(/larger than/);
    await expect(fetchRemoteMedia(`${base}/cat.png`, { allowPrivate: true, accept: /^application\/pdf$/ })).rejects.toThrow(/image\/png/);
    await expect(fetchRemoteMedia(`${base}/missing`, { allowPrivate: true })).rejects.toThrow(/answered 404/);
  });

  it("classifies addresses", () => {
    for (const a of ["127.0.0.1", "10.1.2.3", "172.20.0.1", "192.168.0.1", "169.254.169.254", "::1", "fd00::1", "::ffff:10.0.0.1", "0.0.0.0"]) {
      expect(isPrivateAddress(a)).toBe(true);
    }
    for (const a of ["8.8.8.8", "1.1.1.1", "2606:4700::1111"]) expect(isPrivateAddress(a)).toBe(false);
  });
});
