import { describe, expect, it } from "vitest";
import { parseEnv } from "../env";
import { ghlAppId } from "./app-id";

describe("ghlAppId", () => {
  it("is the client id's part before the first `-`, unless GHL_APP_ID says otherwise", () => {
    expect(ghlAppId({ GHL_CLIENT_ID: "6650f0a1b2c3-lq2x9-extra", GHL_APP_ID: "" })).toBe("6650f0a1b2c3");
    expect(ghlAppId({ GHL_CLIENT_ID: "6650f0a1b2c3-lq2x9", GHL_APP_ID: "ve9EPM428h8vShlRW1KT" })).toBe(
      "ve9EPM428h8vShlRW1KT",
    );
  });

  it("GHL_APP_ID with a `-` or a space is a configuration error", () => {
    const base = {
      APP_URL: "http://localhost:3000",
      DATABASE_URL: "postgres://x/y",
      REDIS_URL: "redis://x",
      NEXTAUTH_SECRET: "x".repeat(32),
      ENCRYPTION_KEY: `k1:${Buffer.alloc(32).toString("base64")}`,
      GHL_CLIENT_ID: "abc-def",
      GHL_CLIENT_SECRET: "secret123",
      GHL_SSO_KEY: "secret123",
    };
    expect(parseEnv(base).GHL_APP_ID).toBe("");
    expect(() => parseEnv({ ...base, GHL_APP_ID: "abc-def" })).toThrow(/GHL_APP_ID/);
  });
});
