import { describe, expect, it } from "vitest";
import { assertCookieRequestAllowed, originAllowed } from "./csrf";
import { jsonBody } from "./handler";

const cfg = {
  appUrl: "https://wa.example.com/base",
  frameAncestors:
    "https://app.gohighlevel.com https://*.leadconnectorhq.com crm.agency.io http://127.0.0.1:4010 * 'unsafe-inline'",
};
const post = (headers: Record<string, string>, method = "POST") =>
  new Request("https://wa.example.com/api/panel/api-keys", { method, headers });
const status = (r: Request) => {
  try {
    assertCookieRequestAllowed(r, cfg);
    return 200;
  } catch (e) {
    return (e as { status: number }).status;
  }
};

describe("origins allowed for cookie-authenticated state changes", () => {
  it("APP_URL's origin and the configured frame ancestors, with CSP host-source rules", () => {
    for (const o of [
      "https://wa.example.com",
      "https://app.gohighlevel.com",
      "https://x.leadconnectorhq.com",
      "https://a.b.leadconnectorhq.com",
      "https://crm.agency.io",
      "http://127.0.0.1:4010",
    ])
      expect(originAllowed(o, cfg), o).toBe(true);
    for (const o of [
      "https://evil.example",
      "http://wa.example.com",
      "https://wa.example.com:8443",
      "https://leadconnectorhq.com",
      "https://evil-leadconnectorhq.com",
      "http://crm.agency.io",
      "http://127.0.0.1:4011",
      "https://app.gohighlevel.com.evil.io",
      "null",
      "",
      "https://wa.example.com/path",
      "javascript:alert(1)",
    ])
      expect(originAllowed(o, cfg), o).toBe(false);
  });
});

describe("assertCookieRequestAllowed", () => {
  it("reads pass whatever their origin", () => {
    expect(status(new Request("https://wa.example.com/x", { headers: { origin: "https://evil.example" } }))).toBe(200);
  });
  it("a state change needs an allowed Origin (403) and content-type: application/json (415)", () => {
    for (const m of ["POST", "PUT", "PATCH", "DELETE"]) {
      expect(
        status(post({ origin: "https://wa.example.com", "content-type": "application/json; charset=utf-8" }, m)),
      ).toBe(200);
      expect(status(post({ origin: "https://evil.example", "content-type": "application/json" }, m))).toBe(403);
      expect(status(post({ origin: "https://wa.example.com", "content-type": "text/plain" }, m))).toBe(415);
      expect(status(post({ origin: "https://wa.example.com" }, m))).toBe(415);
    }
    expect(status(post({ "content-type": "application/json" }))).toBe(403);
    expect(status(post({ "content-type": "application/json", "sec-fetch-site": "cross-site" }))).toBe(403);
    expect(status(post({ "content-type": "application/json", "sec-fetch-site": "same-origin" }))).toBe(200);
    expect(
      status(post({ origin: "https://evil.example", "content-type": "text/plain", "sec-fetch-site": "same-origin" })),
    ).toBe(403);
  });
  it("requireJson: false keeps only the Origin rule (next-auth's own form posts)", () => {
    expect(() =>
      assertCookieRequestAllowed(
        post({ origin: "https://wa.example.com", "content-type": "application/x-www-form-urlencoded" }),
        { ...cfg, requireJson: false },
      ),
    ).not.toThrow();
    expect(() =>
      assertCookieRequestAllowed(post({ origin: "https://evil.example" }), { ...cfg, requireJson: false }),
    ).toThrow();
  });
});

describe("jsonBody", () => {
  const body = (b: string, type?: string) =>
    new Request("https://wa.example.com/x", { method: "POST", body: b, headers: type ? { "content-type": type } : {} });
  it("reads JSON sent as application/json; an empty body is {}", async () => {
    expect(await jsonBody(body('{"a":1}', "application/json"))).toEqual({ a: 1 });
    expect(await jsonBody(new Request("https://wa.example.com/x", { method: "POST" }))).toEqual({});
  });
  it("refuses a body of any other type with 415, JSON-looking or not", async () => {
    await expect(jsonBody(body('{"a":1}', "text/plain"))).rejects.toMatchObject({
      status: 415,
      code: "unsupported_media_type",
    });
    await expect(jsonBody(body('{"a":1}', "application/x-www-form-urlencoded"))).rejects.toMatchObject({ status: 415 });
    await expect(jsonBody(body('{"a":1}'))).rejects.toMatchObject({ status: 415 }); // fetch labels a string text/plain
  });
});
