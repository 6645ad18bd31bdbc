import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWaSimulator, type WaSimulator } from "./server";
import { control } from "./test-kit";

let sim: WaSimulator;
beforeAll(async () => {
  sim = await startWaSimulator({ port: 0 });
});
afterAll(async () => {
  await sim.close();
});

type Err = { error: { code: string; message: string } };

describe("control API", () => {
  it("creates phones with a stable LID and lists them; reset forgets them", async () => {
    const a = await control<{
      phone: string;
      jid: string;
      lid: string;
      reachout: string;
      hidePhone: boolean;
      banned: boolean;
    }>(sim, "POST", "/__sandbox/phones", { phone: "+1 555 444 0001", name: "Eve" });
    expect(a.body).toMatchObject({ phone: "15554440001", jid: "15554440001@s.whatsapp.net" });
    expect(a.body.lid).toMatch(/^\d+@lid$/);
    expect(a.body).toMatchObject({ reachout: "open", hidePhone: false, banned: false }); // a healthy, ordinary number
    const again = await control<{ lid: string }>(sim, "POST", "/__sandbox/phones", { phone: "15554440001" });
    expect(again.body.lid).toBe(a.body.lid);
    expect((await control<unknown[]>(sim, "GET", "/__sandbox/phones")).body).toHaveLength(1);
    expect((await control(sim, "POST", "/__sandbox/reset")).status).toBe(200);
    expect((await control<{ phones: number }>(sim, "GET", "/__sandbox/health")).body.phones).toBe(0);
  });

  it("answers bad input with 400 and unknown phones with 404, in one error shape", async () => {
    const bad = await control<Err>(sim, "POST", "/__sandbox/phones", { name: "no number" });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe("bad_request");
    expect((await control<Err>(sim, "GET", "/__sandbox/phones/15550000000/inbox")).status).toBe(404);
    await control(sim, "POST", "/__sandbox/phones", { phone: "15554440002" });
    const noQr = await control<Err>(sim, "POST", "/__sandbox/phones/15554440002/scan", {
      qr: "https://wa.me/settings/linked_devices#nope,a,b,c,1",
    });
    expect(noQr.status).toBe(404);
    const badFault = await control<Err>(sim, "POST", "/__sandbox/faults", { kind: "explode" });
    expect(badFault.status).toBe(400);
    const badReceipt = await control<Err>(sim, "POST", "/__sandbox/phones/15554440002/receipts", {
      messageIds: [],
      type: "read",
    });
    expect(badReceipt.status).toBe(400);
    expect((await control<Err>(sim, "POST", "/__sandbox/faults", { kind: "undecryptable" })).status).toBe(400); // whose phone?
    expect((await control<Err>(sim, "POST", "/__sandbox/faults", { kind: "nack", code: 479, count: 0 })).status).toBe(
      400,
    );
    expect(
      (await control<Err>(sim, "POST", "/__sandbox/phones/15559990000/restrict", { reachout: "locked" })).status,
    ).toBe(404);
  });

  it("the media host refuses an upload whose bytes do not match the hash in its URL", async () => {
    const res = await fetch(`${sim.url}/mms/image/${Buffer.alloc(32).toString("base64url")}?auth=x&token=y`, {
      method: "POST",
      body: "not those bytes",
    });
    expect(res.status).toBe(400);
  });
});
