import { describe, expect, it } from "vitest";
import { readSignedBody } from "./signed-body";

// A body that is produced only as it is read, so a test can tell how much of it was read.
function streamed(total: number, chunk = 64 * 1024) {
  const seen = { bytes: 0 };
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (seen.bytes >= total) return c.close();
      const n = Math.min(chunk, total - seen.bytes);
      seen.bytes += n;
      c.enqueue(new Uint8Array(n).fill(97));
    },
  });
  return { body, seen };
}
const post = (body: BodyInit, headers: Record<string, string> = {}) =>
  new Request("http://app.test/api/ghl/webhooks", { method: "POST", body, headers, duplex: "half" } as RequestInit);

describe("readSignedBody", () => {
  it("refuses a call without a signature header (401) before reading any of its body", async () => {
    const { body, seen } = streamed(11 * 1024 * 1024);
    await expect(readSignedBody(post(body), { what: "webhook" })).rejects.toMatchObject({
      status: 401,
      message: "the webhook is not signed",
    });
    expect(seen.bytes).toBeLessThanOrEqual(64 * 1024); // at most what the stream queued up front
  });

  it("stops reading a signed body at the cap (413), and refuses a declared length over it at once", async () => {
    const { body, seen } = streamed(11 * 1024 * 1024);
    await expect(
      readSignedBody(post(body, { "x-ghl-signature": "c2ln" }), { what: "webhook", max: 1024 * 1024 }),
    ).rejects.toMatchObject({ status: 413 });
    expect(seen.bytes).toBeLessThan(1024 * 1024 + 3 * 64 * 1024);
    const declared = streamed(2 * 1024 * 1024);
    const r = post(declared.body, { "x-wh-signature": "c2ln", "content-length": String(2 * 1024 * 1024) });
    await expect(readSignedBody(r, { what: "webhook" })).rejects.toMatchObject({ status: 413 });
    expect(declared.seen.bytes).toBeLessThanOrEqual(64 * 1024);
  });

  it("returns a signed body up to the cap whole, and an unsigned one where unsigned calls are allowed", async () => {
    const { body } = streamed(1024 * 1024);
    expect((await readSignedBody(post(body, { "x-ghl-signature": "c2ln" }), { what: "webhook" })).length).toBe(
      1024 * 1024,
    );
    expect((await readSignedBody(post("{}"), { what: "Delivery URL call", allowUnsigned: true })).toString()).toBe(
      "{}",
    );
  });
});
