import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { derivedKey, derivedKeys, keyringFrom } from "../crypto";
import { signMediaPath, verifyMediaPath } from "./signed-url";

const key = randomBytes(32);
const split = (p: string) => p.split("/").slice(3, 6) as [string, string, string];

describe("signed media URLs", () => {
  it("have no query string and verify until they expire", () => {
    const now = Date.UTC(2026, 0, 1);
    const p = signMediaPath("m_123", "photo.jpg", 60, now, key);
    expect(p).not.toContain("?");
    expect(p).toMatch(/^\/api\/media\/m_123\/\d+\/[A-Za-z0-9_-]{32}\/photo\.jpg$/);
    const [id, exp, sig] = split(p);
    expect(verifyMediaPath(id, exp, sig, now + 59_000, key)).toEqual({ ok: true, mediaId: "m_123" });
    expect(verifyMediaPath(id, exp, sig, now + 61_000, key)).toEqual({ ok: false, reason: "expired" });
  });

  it("reject a changed id, expiry or signature, and another key", () => {
    const now = Date.now();
    const [id, exp, sig] = split(signMediaPath("m_1", "a.pdf", 60, now, key));
    expect(verifyMediaPath("m_2", exp, sig, now, key).ok).toBe(false);
    expect(verifyMediaPath(id, String(Number(exp) + 1000), sig, now, key)).toEqual({
      ok: false,
      reason: "bad_signature",
    });
    expect(verifyMediaPath(id, exp, sig, now, randomBytes(32)).ok).toBe(false);
    expect(verifyMediaPath("../etc", exp, sig, now, key)).toEqual({ ok: false, reason: "malformed" });
  });
});

describe("signed media URLs across a key rotation", () => {
  const k1 = `k1:${randomBytes(32).toString("base64")}`;
  const k2 = `k2:${randomBytes(32).toString("base64")}`;
  const now = Date.now();
  const [id, exp, sig] = split(signMediaPath("m_9", "voice.ogg", 3600, now, derivedKey("media-url", keyringFrom(k1))));

  it("a URL signed before the rotation still verifies while the old key is listed as previous", () => {
    const rotated = keyringFrom(k2, [k1]);
    expect(verifyMediaPath(id, exp, sig, now, derivedKeys("media-url", rotated))).toEqual({ ok: true, mediaId: "m_9" });
    // and new URLs are signed with the new key
    const [, e2, s2] = split(signMediaPath("m_9", "voice.ogg", 3600, now, derivedKey("media-url", rotated)));
    expect(verifyMediaPath(id, e2, s2, now, derivedKeys("media-url", keyringFrom(k2)))).toEqual({
      ok: true,
      mediaId: "m_9",
    });
  });

  it("once the old key is dropped, its URLs no longer verify", () => {
    expect(verifyMediaPath(id, exp, sig, now, derivedKeys("media-url", keyringFrom(k2)))).toEqual({
      ok: false,
      reason: "bad_signature",
    });
  });
});
