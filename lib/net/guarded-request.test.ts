import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BlockedAddressError, guardedRequest, literalAddressProblem } from "./guarded-request";

let server: Server;
let port: number;
let hits = 0;
beforeAll(async () => {
  server = createServer((_req, res) => {
    hits++;
    res.writeHead(200, { "content-type": "text/plain" }).end("internal secret");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe("guardedRequest", () => {
  it("refuses loopback in the forms the URL parser produces, before connecting", async () => {
    const before = hits;
    for (const host of [
      "127.0.0.1",
      "[::ffff:127.0.0.1]",
      "[::ffff:7f00:1]",
      "[::7f00:1]",
      "[64:ff9b::7f00:1]",
      "0",
      "2130706433",
      "0x7f.1",
    ]) {
      await expect(guardedRequest(new URL(`http://${host}:${port}/`)), host).rejects.toBeInstanceOf(
        BlockedAddressError,
      );
    }
    expect(hits).toBe(before);
  });

  it("connects to the address it checked: one resolution, so DNS rebinding has no second answer to use", async () => {
    // The resolver says public once and loopback after. The old guard resolved for its check and
    // let fetch resolve again (here: the system resolver's 127.0.0.1 for localhost) — reaching us.
    let calls = 0;
    const resolve = async () =>
      calls++ === 0 ? [{ address: "8.8.8.8", family: 4 }] : [{ address: "127.0.0.1", family: 4 }];
    const before = hits;
    await expect(
      guardedRequest(new URL(`http://localhost:${port}/`), { resolve, signal: AbortSignal.timeout(800) }),
    ).rejects.toThrow();
    expect(hits).toBe(before);
    expect(calls).toBe(1);
  });

  it("refuses a name when any address it resolves to is special", async () => {
    const resolve = async () => [
      { address: "93.184.215.14", family: 4 },
      { address: "::ffff:7f00:1", family: 6 },
    ];
    await expect(guardedRequest(new URL(`http://media.example:${port}/`), { resolve })).rejects.toThrow(
      /private or reserved network \(::ffff:7f00:1\)/,
    );
  });

  it("reaches an allow-listed origin on a private address (the sandbox), and only that origin", async () => {
    const res = await guardedRequest(new URL(`http://127.0.0.1:${port}/x`), {
      allowedOrigins: [`http://127.0.0.1:${port}`],
    });
    expect(res.statusCode).toBe(200);
    res.resume();
    await expect(
      guardedRequest(new URL(`http://127.0.0.1:${port}/x`), { allowedOrigins: [`http://127.0.0.1:${port + 1}`] }),
    ).rejects.toBeInstanceOf(BlockedAddressError);
  });
});

describe("literalAddressProblem", () => {
  it("names literal special addresses and localhost, leaves names and allowed origins alone", () => {
    expect(literalAddressProblem(new URL("http://[::ffff:127.0.0.1]/a"), [])).toMatch(/private or reserved/);
    expect(literalAddressProblem(new URL("http://169.254.169.254/latest"), [])).toMatch(/private or reserved/);
    expect(literalAddressProblem(new URL("http://api.localhost/a"), [])).toMatch(/loopback/);
    expect(literalAddressProblem(new URL("https://cdn.example.com/a.png"), [])).toBeNull();
    expect(literalAddressProblem(new URL("http://127.0.0.1:4010/a"), ["http://127.0.0.1:4010"])).toBeNull();
  });
});
