import { createDecipheriv, createHash } from "node:crypto";
import { runInNewContext, Script } from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SEED } from "./directory";
import type { GhlSimulator } from "./server";
import { control, startSim } from "./test-kit";

// An independent CryptoJS.AES.decrypt(payload, passphrase): OpenSSL EVP_BytesToKey (MD5, 1 round).
function cryptoJsDecrypt(payload: string, passphrase: string): string {
  const buf = Buffer.from(payload, "base64");
  expect(buf.subarray(0, 8).toString("latin1")).toBe("Salted__");
  const salt = buf.subarray(8, 16);
  let material = Buffer.alloc(0);
  let block = Buffer.alloc(0);
  while (material.length < 48) {
    block = createHash("md5").update(block).update(passphrase, "utf8").update(salt).digest();
    material = Buffer.concat([material, block]);
  }
  const d = createDecipheriv("aes-256-cbc", material.subarray(0, 32), material.subarray(32, 48));
  return Buffer.concat([d.update(buf.subarray(16)), d.final()]).toString("utf8");
}

const sunrise = SEED.locations[0].id;
let sim: GhlSimulator;
beforeAll(async () => {
  sim = await startSim({ ssoKey: "a-shared-secret-from-the-marketplace", panelUrl: "http://127.0.0.1:9/panel" });
});
afterAll(async () => {
  await sim.close();
});

describe("SSO (Custom Page user context)", () => {
  it("the payload is CryptoJS AES with the shared secret, fresh salt each time, location context has activeLocation", async () => {
    const a = await control(sim, "POST", "/sso", { locationId: sunrise });
    const b = await control(sim, "POST", "/sso", { locationId: sunrise });
    expect(a.body.payload).not.toBe(b.body.payload);
    const user = JSON.parse(cryptoJsDecrypt(a.body.payload, "a-shared-secret-from-the-marketplace"));
    expect(user).toMatchObject({ companyId: SEED.companyId, role: "admin", type: "location", activeLocation: sunrise });
    expect(user.userId).toEqual(expect.any(String));
    expect(user.email).toContain("@");
    expect(() => cryptoJsDecrypt(a.body.payload, "wrong-secret")).toThrow();
  });

  it("an agency user without a location gets no activeLocation; role and type can be chosen", async () => {
    const r = await control(sim, "POST", "/sso", { companyId: SEED.companyId, role: "user", type: "agency" });
    const user = JSON.parse(cryptoJsDecrypt(r.body.payload, "a-shared-secret-from-the-marketplace"));
    expect(user).toMatchObject({ companyId: SEED.companyId, role: "user", type: "agency" });
    expect(user.activeLocation).toBeUndefined();
  });

  it("the custom page frames the panel and answers REQUEST_USER_DATA", async () => {
    const r = await fetch(`${sim.url}/location/${sunrise}/custom-page?role=user`);
    const html = await r.text();
    expect(r.status).toBe(200);
    expect(html).toContain('<iframe id="app" src="http://127.0.0.1:9/panel"');
    expect(html).toContain("REQUEST_USER_DATA_RESPONSE");
    expect(html).toContain(`"activeLocation":"${sunrise}"`);
    expect(html).toContain('"role":"user"');
    // Run the page's own script against a stand-in DOM: the panel frame asks, the host answers.
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1];
    const posted: any[] = [];
    const frameWindow = { postMessage: (m: unknown) => posted.push(m) };
    let onMessage: ((ev: unknown) => Promise<void>) | undefined;
    const dom = {
      window: { addEventListener: (_: string, fn: typeof onMessage) => (onMessage = fn) },
      document: {
        getElementById: (id: string) => (id === "app" ? { contentWindow: frameWindow } : { textContent: "" }),
      },
      fetch: (path: string, init: RequestInit) => fetch(`${sim.url}${path}`, init),
    };
    runInNewContext(script, dom);
    await onMessage!({ source: { postMessage: () => undefined }, data: { message: "REQUEST_USER_DATA" } }); // not from the panel: ignored
    await onMessage!({ source: frameWindow, data: { message: "REQUEST_USER_DATA" } });
    expect(posted).toHaveLength(1);
    expect(posted[0].message).toBe("REQUEST_USER_DATA_RESPONSE");
    expect(JSON.parse(cryptoJsDecrypt(posted[0].payload, "a-shared-secret-from-the-marketplace"))).toMatchObject({
      activeLocation: sunrise,
      role: "user",
      companyId: SEED.companyId,
    });
    const conv = await fetch(`${sim.url}/location/${sunrise}/conversations`);
    expect(conv.status).toBe(200);
    const convScript = /<script>([\s\S]*?)<\/script>/.exec(await conv.text())![1];
    expect(() => new Script(convScript)).not.toThrow();
    expect((await fetch(`${sim.url}/location/nope/custom-page`)).status).toBe(404);
  });
});
