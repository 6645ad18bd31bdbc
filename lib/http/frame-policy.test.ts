import { describe, expect, it } from "vitest";
import { panelCsp } from "./frame-policy";

describe("panel frame-ancestors", () => {
  it("lists the configured GHL and white-label origins after 'self'", () => {
    expect(panelCsp("https://app.gohighlevel.com https://*.leadconnectorhq.com,https://crm.agency.io/"))
      .toBe("frame-ancestors 'self' https://app.gohighlevel.com https://*.leadconnectorhq.com https://crm.agency.io");
  });
  it("never lets a wildcard or junk through", () => {
    expect(panelCsp("* https://ok.io javascript:alert(1) 'unsafe-inline'")).toBe("frame-ancestors 'self' https://ok.io");
    expect(panelCsp("")).toBe("frame-ancestors 'self'");
  });
});
