import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POST as delivery } from "@/app/api/ghl/delivery/route";
import { POST as webhooks } from "@/app/api/ghl/webhooks/route";
import { db } from "@/lib/db";
import { params, useAppEnv } from "./helpers/app-env";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";

// GHL's two signed endpoints are open to anyone: before a signature is checked, nothing of an
// unsigned call is read, and at most 1 MB of a signed one.
let restore: () => Promise<void>;
beforeAll(async () => {
  restore = useAppEnv({ databaseUrl: await cloneTemplateDb(dbNameFor(import.meta.filename)) });
});
afterAll(async () => restore());

const MB = 1024 * 1024;
// a body produced only as it is read, so the test sees how much the route read
function streamed(total: number) {
  const seen = { bytes: 0 };
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (seen.bytes >= total) return c.close();
      const n = Math.min(64 * 1024, total - seen.bytes);
      seen.bytes += n;
      c.enqueue(new Uint8Array(n).fill(32));
    },
  });
  return { body, seen };
}
const call = (route: typeof webhooks, path: string, body: ReadableStream, headers: Record<string, string> = {}) =>
  route(
    new Request(`http://127.0.0.1:3999${path}`, {
      method: "POST",
      body,
      headers: { "content-type": "application/json", ...headers },
      duplex: "half",
    } as RequestInit),
    params({}),
  );

describe.each([
  ["POST /api/ghl/webhooks", webhooks, "/api/ghl/webhooks", /webhook is not signed/],
  ["POST /api/ghl/delivery", delivery, "/api/ghl/delivery", /Delivery URL call is not signed/],
] as const)("%s", (_name, route, path, unsignedMessage) => {
  it("refuses an unsigned 11 MB call with 401 without reading its body", async () => {
    const { body, seen } = streamed(11 * MB);
    const r = await call(route, path, body);
    expect(r.status).toBe(401);
    expect((await r.json()).error).toMatchObject({
      code: "unauthorized",
      message: expect.stringMatching(unsignedMessage),
    });
    expect(seen.bytes).toBeLessThanOrEqual(64 * 1024);
  });

  it("refuses a signed body over 1 MB with 413, reading no more than the cap", async () => {
    const { body, seen } = streamed(11 * MB);
    const r = await call(route, path, body, { "x-ghl-signature": Buffer.alloc(64, 1).toString("base64") });
    expect(r.status).toBe(413);
    expect(seen.bytes).toBeLessThan(MB + 4 * 64 * 1024);
    const declared = streamed(2 * MB);
    const r2 = await call(route, path, declared.body, { "x-wh-signature": "c2ln", "content-length": String(2 * MB) });
    expect(r2.status).toBe(413);
    expect(declared.seen.bytes).toBeLessThanOrEqual(64 * 1024);
    expect(await db().webhookReceipt.count()).toBe(0);
  });
});
