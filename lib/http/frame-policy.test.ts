import { describe, expect, it } from "vitest";
import { parseEnv } from "../env";
import { frameAncestorSources, GHL_APP_ORIGINS, originMatchesSources, panelCsp } from "./frame-policy";

const minimalEnv = {
  APP_URL: "https://gw.example.com",
  DATABASE_URL: "postgresql://u@db/x",
  REDIS_URL: "redis://r:6379",
  ENCRYPTION_KEY: `k1:${Buffer.alloc(32, 1).toString("base64")}`,
  NEXTAUTH_SECRET: "x".repeat(32),
  GHL_CLIENT_ID: "abc-def",
  GHL_CLIENT_SECRET: "secret-secret",
  GHL_SSO_KEY: "shared-secret",
};

describe("panel frame-ancestors", () => {
  it("by default lists only 'self' and GHL's own app origins: no wildcard of any kind", () => {
    const csp = panelCsp(parseEnv(minimalEnv).PANEL_FRAME_ANCESTORS);
    expect(csp).toBe("frame-ancestors 'self' https://app.gohighlevel.com https://app.leadconnectorhq.com");
    expect(csp).not.toContain("*");
  });

  it("adds the configured white-label origins after GHL's", () => {
    expect(panelCsp("https://crm.agency.io/ https://*.whitelabel.agency.io,app.other.io")).toBe(
      `frame-ancestors 'self' ${GHL_APP_ORIGINS.join(" ")} https://crm.agency.io https://*.whitelabel.agency.io app.other.io`,
    );
  });

  it("never lets a wildcard, a bare scheme or junk through", () => {
    const junk =
      "* https: http: https://* *.com https://*.io https://a.*.io javascript:alert(1) 'unsafe-inline' data: https://ok.io";
    expect(frameAncestorSources(junk)).toEqual([...GHL_APP_ORIGINS, "https://ok.io"]);
    expect(panelCsp("")).toBe(`frame-ancestors 'self' ${GHL_APP_ORIGINS.join(" ")}`);
  });
});

describe("originMatchesSources (CSP host-source rules)", () => {
  const sources = frameAncestorSources("https://*.agency.io http://127.0.0.1:4010 crm.client.com");
  it.each([
    ["https://app.gohighlevel.com", true],
    ["https://app.leadconnectorhq.com", true],
    ["https://evil.gohighlevel.com.attacker.io", false],
    ["https://other.gohighlevel.com", false], // not GHL's app: only listed origins
    ["http://app.gohighlevel.com", false], // scheme matters
    ["https://crm.agency.io", true],
    ["https://agency.io", false], // `*.` is subdomains only
    ["http://127.0.0.1:4010", true],
    ["http://127.0.0.1:4011", false],
    ["https://crm.client.com", true], // no scheme in the source = https
    ["https://crm.client.com:8443", false],
    ["null", false],
    ["https://app.gohighlevel.com/path", false], // not an origin
    ["", false],
  ])("%s → %s", (origin, ok) => {
    expect(originMatchesSources(origin, sources)).toBe(ok);
  });
});
