import { describe, expect, it } from "vitest";
import { EnvError, parseEnv } from "./env";

const key = `k1:${Buffer.alloc(32, 7).toString("base64")}`;
const valid = {
  APP_URL: "http://127.0.0.1:3000",
  DATABASE_URL: "postgresql://postgres@127.0.0.1:5432/x",
  REDIS_URL: "redis://127.0.0.1:6379",
  ENCRYPTION_KEY: key,
  NEXTAUTH_SECRET: "x".repeat(32),
  GHL_CLIENT_ID: "abc123-xyz",
  GHL_CLIENT_SECRET: "secret-secret",
  GHL_SSO_KEY: "shared-secret",
};

function problemsOf(source: Record<string, string | undefined>): string[] {
  try {
    parseEnv(source);
  } catch (e) {
    expect(e).toBeInstanceOf(EnvError);
    return (e as EnvError).problems;
  }
  throw new Error("expected an EnvError");
}

describe("parseEnv", () => {
  it("accepts a complete configuration and applies defaults", () => {
    const e = parseEnv(valid);
    expect(e.TEXT_DELAY_MS).toBe(1200);
    expect(e.GHL_API_BASE_URL).toBe("https://services.leadconnectorhq.com");
    expect(e.ENCRYPTION_KEYS_PREVIOUS).toEqual([]);
  });

  it("names every missing variable in one error", () => {
    const problems = problemsOf({});
    for (const k of [
      "APP_URL",
      "DATABASE_URL",
      "REDIS_URL",
      "ENCRYPTION_KEY",
      "NEXTAUTH_SECRET",
      "GHL_CLIENT_ID",
      "GHL_CLIENT_SECRET",
      "GHL_SSO_KEY",
    ]) {
      expect(problems).toContain(`${k}: missing`);
    }
    expect(problems).toHaveLength(8);
  });

  it("names every malformed variable with the reason", () => {
    const problems = problemsOf({
      ...valid,
      DATABASE_URL: "mysql://nope",
      ENCRYPTION_KEY: `k1:${Buffer.alloc(16).toString("base64")}`,
      TEXT_DELAY_MS: "soon",
      MEDIA_DELAY_MS_MIN: "9000",
      MEDIA_DELAY_MS_MAX: "100",
    });
    expect(problems.find((p) => p.startsWith("DATABASE_URL:"))).toMatch(/postgres/);
    expect(problems.find((p) => p.startsWith("ENCRYPTION_KEY:"))).toMatch(/32 bytes/);
    expect(problems.some((p) => p.startsWith("TEXT_DELAY_MS:"))).toBe(true);
    expect(problems.find((p) => p.startsWith("MEDIA_DELAY_MS_MIN:"))).toMatch(/MEDIA_DELAY_MS_MAX/);
  });

  it("treats empty strings as unset", () => {
    expect(problemsOf({ ...valid, REDIS_URL: "" })).toEqual(["REDIS_URL: missing"]);
  });

  it("refuses a sandbox WhatsApp root key in production unless explicitly allowed", () => {
    const sandbox = { ...valid, NODE_ENV: "production", WA_SANDBOX_ROOT_PUBLIC_KEY: "ab".repeat(32) };
    expect(problemsOf(sandbox)[0]).toMatch(/WA_ALLOW_SANDBOX_IN_PRODUCTION/);
    expect(parseEnv({ ...sandbox, WA_ALLOW_SANDBOX_IN_PRODUCTION: "true" }).WA_ALLOW_SANDBOX_IN_PRODUCTION).toBe(true);
  });

  it("reads MEDIA_URL_ALLOWED_ORIGINS as origins, refuses anything else, and refuses the removed blanket flag", () => {
    expect(parseEnv(valid).MEDIA_URL_ALLOWED_ORIGINS).toEqual([]);
    expect(
      parseEnv({
        ...valid,
        MEDIA_URL_ALLOWED_ORIGINS: " http://127.0.0.1:4010, https://Media.Example:443/ ,http://localhost:4020",
      }).MEDIA_URL_ALLOWED_ORIGINS,
    ).toEqual(["http://127.0.0.1:4010", "https://media.example", "http://localhost:4020"]);
    const problems = problemsOf({
      ...valid,
      MEDIA_URL_ALLOWED_ORIGINS: "http://ok:1,127.0.0.1:4010,ftp://x,http://h/path,http://u:p@h",
    });
    expect(problems.filter((p) => p.startsWith("MEDIA_URL_ALLOWED_ORIGINS:"))).toHaveLength(4);
    expect(problemsOf({ ...valid, ALLOW_PRIVATE_MEDIA_URLS: "true" })).toEqual([
      expect.stringMatching(/^ALLOW_PRIVATE_MEDIA_URLS: .*MEDIA_URL_ALLOWED_ORIGINS/),
    ]);
    expect(() => parseEnv({ ...valid, ALLOW_PRIVATE_MEDIA_URLS: "false" })).not.toThrow();
  });

  it("refuses unsigned Delivery URL calls in production, with no override", () => {
    const flag = { ...valid, GHL_DELIVERY_ALLOW_UNSIGNED: "true" };
    expect(parseEnv(flag).GHL_DELIVERY_ALLOW_UNSIGNED).toBe(true); // development, test: allowed
    for (const v of ["true", "1", "yes"]) {
      expect(problemsOf({ ...flag, GHL_DELIVERY_ALLOW_UNSIGNED: v, NODE_ENV: "production" })).toContainEqual(
        expect.stringMatching(/^GHL_DELIVERY_ALLOW_UNSIGNED: .*sandbox only.*production/),
      );
    }
    expect(problemsOf({ ...flag, NODE_ENV: "production", WA_ALLOW_SANDBOX_IN_PRODUCTION: "true" })).toHaveLength(1);
    expect(
      parseEnv({
        ...valid,
        NODE_ENV: "production",
        WA_ALLOW_SANDBOX_IN_PRODUCTION: "true",
        GHL_DELIVERY_ALLOW_UNSIGNED: "false",
      }).GHL_DELIVERY_ALLOW_UNSIGNED,
    ).toBe(false);
  });

  it("has quotas on by default, configurable, and refuses nonsense", () => {
    const e = parseEnv(valid);
    expect([
      e.MAX_INSTANCES_PER_LOCATION,
      e.API_RATE_LIMIT_WINDOW_SECONDS,
      e.API_RATE_LIMIT_PER_KEY,
      e.API_RATE_LIMIT_PER_LOCATION,
    ]).toEqual([10, 60, 600, 1200]);
    expect(parseEnv({ ...valid, MAX_INSTANCES_PER_LOCATION: "3", API_RATE_LIMIT_PER_KEY: "0" })).toMatchObject({
      MAX_INSTANCES_PER_LOCATION: 3,
      API_RATE_LIMIT_PER_KEY: 0,
    });
    const problems = problemsOf({
      ...valid,
      MAX_INSTANCES_PER_LOCATION: "0",
      API_RATE_LIMIT_WINDOW_SECONDS: "0",
      API_RATE_LIMIT_PER_LOCATION: "-1",
    });
    expect(problems.map((p) => p.split(":")[0]).sort()).toEqual([
      "API_RATE_LIMIT_PER_LOCATION",
      "API_RATE_LIMIT_WINDOW_SECONDS",
      "MAX_INSTANCES_PER_LOCATION",
    ]);
  });
});

// ---- production guards (issue 14, low items) ----
describe("production guards: sandbox and dev-only settings", () => {
  const prod = {
    ...valid,
    NODE_ENV: "production",
    APP_URL: "https://gw.example.com",
    GHL_SSO_KEY: "a-real-shared-secret-from-ghl",
    GHL_CLIENT_SECRET: "a-real-client-secret",
  };
  // what scripts/lib/stack.mjs gives the app for the sandbox (values as the e2e stack has them)
  const sandboxSettings = {
    APP_URL: "http://127.0.0.1:3000",
    GHL_API_BASE_URL: "http://127.0.0.1:4010",
    GHL_MARKETPLACE_URL: "http://localhost:4010",
    WA_WEBSOCKET_URL: "ws://127.0.0.1:4020/ws/chat",
    WA_SANDBOX_MEDIA_CA_PEM: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
    GHL_SSO_KEY: "sandbox-shared-secret-0123456789",
    GHL_CLIENT_SECRET: "sandbox-client-secret-0123456789",
    PANEL_FRAME_ANCESTORS: "http://127.0.0.1:4010 http://localhost:4010 https://crm.agency.io",
    MEDIA_URL_ALLOWED_ORIGINS: "http://127.0.0.1:4010,http://localhost:4010,https://media.agency.io",
    NODE_TLS_REJECT_UNAUTHORIZED: "0",
  };

  it("a real production configuration starts", () => {
    expect(() => parseEnv(prod)).not.toThrow();
    expect(() =>
      parseEnv({
        ...prod,
        PANEL_FRAME_ANCESTORS: "https://crm.agency.io",
        MEDIA_URL_ALLOWED_ORIGINS: "https://media.agency.io",
      }),
    ).not.toThrow();
  });

  it("refuses every sandbox-only setting in production, each named, in one error", () => {
    const problems = problemsOf({ ...prod, ...sandboxSettings });
    const named = problems.map((p) => p.split(":")[0]);
    expect(named.sort()).toEqual([...Object.keys(sandboxSettings)].sort());
    for (const p of problems) expect(p).toMatch(/refused in production/);
    expect(problems.find((p) => p.startsWith("PANEL_FRAME_ANCESTORS:"))).toContain(
      "http://127.0.0.1:4010 http://localhost:4010 are",
    );
    expect(problems.find((p) => p.startsWith("PANEL_FRAME_ANCESTORS:"))).not.toContain("crm.agency.io");
    expect(problems.find((p) => p.startsWith("MEDIA_URL_ALLOWED_ORIGINS:"))).not.toContain("media.agency.io");
    // a secret's value is never printed
    expect(problems.join("\n")).not.toContain("sandbox-shared-secret-0123456789");
  });

  it("each setting alone is enough to refuse the start", () => {
    for (const [k, v] of Object.entries(sandboxSettings)) {
      expect(
        problemsOf({ ...prod, [k]: v }).map((p) => p.split(":")[0]),
        k,
      ).toContain(k);
    }
    // private addresses and plain http count as the sandbox too
    expect(problemsOf({ ...prod, GHL_API_BASE_URL: "https://10.0.0.5" })[0]).toMatch(
      /^GHL_API_BASE_URL: .*loopback or private/,
    );
    expect(problemsOf({ ...prod, GHL_API_BASE_URL: "http://services.leadconnectorhq.com" })[0]).toMatch(
      /^GHL_API_BASE_URL: .*not https/,
    );
    expect(problemsOf({ ...prod, WA_WEBSOCKET_URL: "wss://[::1]:4020/ws" })[0]).toMatch(/^WA_WEBSOCKET_URL:/);
    expect(problemsOf({ ...prod, GHL_SSO_KEY: "sandbox-shared-secret" })[0]).toMatch(/^GHL_SSO_KEY:/);
  });

  it("the same settings are fine outside production", () => {
    expect(() => parseEnv({ ...valid, ...sandboxSettings, NODE_ENV: "development" })).not.toThrow();
    expect(() => parseEnv({ ...valid, ...sandboxSettings })).not.toThrow();
  });

  it("the sandbox stack in production mode (e2e, chaos) opts in; its published Shared Secret is still refused off loopback", () => {
    const stack = { ...prod, ...sandboxSettings, WA_ALLOW_SANDBOX_IN_PRODUCTION: "true" };
    expect(() => parseEnv(stack)).not.toThrow();
    const exposed = problemsOf({ ...stack, APP_URL: "https://gw.example.com" });
    expect(exposed).toEqual([
      expect.stringMatching(/^GHL_SSO_KEY: is the sandbox's published Shared Secret .*not on loopback/),
    ]);
  });

  it("refuses one encryption key id naming two different keys", () => {
    const other = `k1:${Buffer.alloc(32, 9).toString("base64")}`;
    expect(problemsOf({ ...valid, ENCRYPTION_KEYS_PREVIOUS: other })).toEqual([
      expect.stringMatching(/^ENCRYPTION_KEYS_PREVIOUS: key id k1 names two different keys/),
    ]);
    expect(() =>
      parseEnv({ ...valid, ENCRYPTION_KEYS_PREVIOUS: `${key},k0:${Buffer.alloc(32, 3).toString("base64")}` }),
    ).not.toThrow();
  });
});
