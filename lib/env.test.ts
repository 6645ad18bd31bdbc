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
    for (const k of ["APP_URL", "DATABASE_URL", "REDIS_URL", "ENCRYPTION_KEY", "NEXTAUTH_SECRET", "GHL_CLIENT_ID", "GHL_CLIENT_SECRET", "GHL_SSO_KEY"]) {
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
    expect(parseEnv({ ...valid, MEDIA_URL_ALLOWED_ORIGINS: " http://127.0.0.1:4010, https://Media.Example:443/ ,http://localhost:4020" }).MEDIA_URL_ALLOWED_ORIGINS)
      .toEqual(["http://127.0.0.1:4010", "https://media.example", "http://localhost:4020"]);
    const problems = problemsOf({ ...valid, MEDIA_URL_ALLOWED_ORIGINS: "http://ok:1,127.0.0.1:4010,ftp://x,http://h/path,http://u:p@h" });
    expect(problems.filter((p) => p.startsWith("MEDIA_URL_ALLOWED_ORIGINS:"))).toHaveLength(4);
    expect(problemsOf({ ...valid, ALLOW_PRIVATE_MEDIA_URLS: "true" })).toEqual([expect.stringMatching(/^ALLOW_PRIVATE_MEDIA_URLS: .*MEDIA_URL_ALLOWED_ORIGINS/)]);
    expect(() => parseEnv({ ...valid, ALLOW_PRIVATE_MEDIA_URLS: "false" })).not.toThrow();
  });

  it("refuses unsigned Delivery URL calls in production, with no override", () => {
    const flag = { ...valid, GHL_DELIVERY_ALLOW_UNSIGNED: "true" };
    expect(parseEnv(flag).GHL_DELIVERY_ALLOW_UNSIGNED).toBe(true); // development, test: allowed
    for (const v of ["true", "1", "yes"]) {
      expect(problemsOf({ ...flag, GHL_DELIVERY_ALLOW_UNSIGNED: v, NODE_ENV: "production" })).toEqual([expect.stringMatching(/^GHL_DELIVERY_ALLOW_UNSIGNED: .*sandbox only.*production/)]);
    }
    expect(problemsOf({ ...flag, NODE_ENV: "production", WA_ALLOW_SANDBOX_IN_PRODUCTION: "true" })).toHaveLength(1);
    expect(parseEnv({ ...valid, NODE_ENV: "production", GHL_DELIVERY_ALLOW_UNSIGNED: "false" }).GHL_DELIVERY_ALLOW_UNSIGNED).toBe(false);
  });

  it("has quotas on by default, configurable, and refuses nonsense", () => {
    const e = parseEnv(valid);
    expect([e.MAX_INSTANCES_PER_LOCATION, e.API_RATE_LIMIT_WINDOW_SECONDS, e.API_RATE_LIMIT_PER_KEY, e.API_RATE_LIMIT_PER_LOCATION]).toEqual([10, 60, 600, 1200]);
    expect(parseEnv({ ...valid, MAX_INSTANCES_PER_LOCATION: "3", API_RATE_LIMIT_PER_KEY: "0" })).toMatchObject({ MAX_INSTANCES_PER_LOCATION: 3, API_RATE_LIMIT_PER_KEY: 0 });
    const problems = problemsOf({ ...valid, MAX_INSTANCES_PER_LOCATION: "0", API_RATE_LIMIT_WINDOW_SECONDS: "0", API_RATE_LIMIT_PER_LOCATION: "-1" });
    expect(problems.map((p) => p.split(":")[0]).sort()).toEqual(["API_RATE_LIMIT_PER_LOCATION", "API_RATE_LIMIT_WINDOW_SECONDS", "MAX_INSTANCES_PER_LOCATION"]);
  });
});
