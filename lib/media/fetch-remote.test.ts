import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertMediaUrlsAcceptable, fetchRemoteMedia } from "./fetch-remote";

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
    if (req.url === "/redirect-mapped") {
      // the same server, but by a form of its address that is not on the allow-list
      res.writeHead(302, { location: `http://[::ffff:7f00:1]:${(server.address() as AddressInfo).port}/cat.png` });
      return res.end();
    }
    if (req.url === "/redirect-self") {
      res.writeHead(302, { location: "/cat.png" });
      return res.end();
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const allowed = () => ({ allowedOrigins: [base] });

describe("fetchRemoteMedia", () => {
  it("downloads from an allow-listed origin on a private address (sandbox)", async () => {
    const m = await fetchRemoteMedia(`${base}/cat.png`, { ...allowed(), accept: /^image\// });
    expect(m.bytes.length).toBe(1000);
    expect(m.contentType).toBe("image/png");
    expect(m.fileName).toBe("cat.png");
  });

  it("refuses loopback and private hosts otherwise, including via DNS", async () => {
    await expect(fetchRemoteMedia(`${base}/cat.png`)).rejects.toThrow(/private network/);
    await expect(
      fetchRemoteMedia("http://internal.example/x", { resolve: async () => [{ address: "192.168.1.5", family: 4 }] }),
    ).rejects.toThrow(/private network/);
  });

  it("refuses loopback written as IPv4-mapped, IPv4-compatible or NAT64 IPv6", async () => {
    const port = new URL(base).port;
    for (const host of ["[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[::7f00:1]", "[64:ff9b::7f00:1]", "[fec0::1]"]) {
      await expect(fetchRemoteMedia(`http://${host}:${port}/cat.png`, { timeoutMs: 2000 }), host).rejects.toThrow(
        /private network/,
      );
    }
  });

  it("checks every redirect hop against the allow-list and the address rules", async () => {
    await expect(fetchRemoteMedia(`${base}/redirect-private`, allowed())).rejects.toThrow(
      /10\.0\.0\.1 is on a private network/,
    );
    await expect(fetchRemoteMedia(`${base}/redirect-mapped`, allowed())).rejects.toThrow(/private network/);
    expect((await fetchRemoteMedia(`${base}/redirect-self`, allowed())).bytes.length).toBe(1000);
  });

  it("resolves once and connects to what it checked (DNS rebinding)", async () => {
    let calls = 0;
    const resolve = async () =>
      calls++ === 0 ? [{ address: "8.8.8.8", family: 4 }] : [{ address: "127.0.0.1", family: 4 }];
    await expect(
      fetchRemoteMedia(`http://localhost:${new URL(base).port}/cat.png`, { resolve, timeoutMs: 800 }),
    ).rejects.toThrow(/could not download/);
    expect(calls).toBe(1);
  });

  it("refuses other schemes, credentials, oversize and wrong content types", async () => {
    await expect(fetchRemoteMedia("file:///etc/passwd")).rejects.toThrow(/http or https/);
    await expect(fetchRemoteMedia("http://u:p@example.com/x")).rejects.toThrow(/credentials/);
    await expect(fetchRemoteMedia(`${base}/big`, { ...allowed(), maxBytes: 4000 })).rejects.toThrow(/larger than/);
    await expect(fetchRemoteMedia(`${base}/cat.png`, { ...allowed(), accept: /^application\/pdf$/ })).rejects.toThrow(
      /image\/png/,
    );
    await expect(fetchRemoteMedia(`${base}/missing`, allowed())).rejects.toThrow(/answered 404/);
  });

  it("refuses literal private addresses up front, before a message is stored", () => {
    expect(() => assertMediaUrlsAcceptable(["https://cdn.example.com/a.png"], [])).not.toThrow();
    expect(() => assertMediaUrlsAcceptable([`${base}/cat.png`], [base])).not.toThrow();
    for (const u of [
      "http://[::ffff:7f00:1]/a.png",
      "http://169.254.169.254/latest/meta-data",
      "http://localhost:5432/",
      "ftp://example.com/a",
    ]) {
      expect(() => assertMediaUrlsAcceptable(["https://cdn.example.com/a.png", u], []), u).toThrow(
        expect.objectContaining({ status: 422 }),
      );
    }
  });
});
