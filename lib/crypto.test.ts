import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { DecryptError, keyringFrom, needsReseal, open, openToBuffer, seal } from "./crypto";

const k = (id: string) => `${id}:${randomBytes(32).toString("base64")}`;

describe("seal/open (AES-256-GCM, versioned)", () => {
  const ring = keyringFrom(k("k1"));

  it("round-trips text and binary, with a fresh IV each time", () => {
    const a = seal("refresh-token-123", "loc_1", ring);
    const b = seal("refresh-token-123", "loc_1", ring);
    expect(a).not.toBe(b);
    expect(a).not.toContain("refresh-token-123");
    expect(a.startsWith("v1.k1.")).toBe(true);
    expect(open(a, "loc_1", ring)).toBe("refresh-token-123");
    const bin = randomBytes(100);
    expect(openToBuffer(seal(bin, "", ring), "", ring).equals(bin)).toBe(true);
  });

  it("detects tampering with the ciphertext, the tag or the IV", () => {
    const s = seal("secret", "", ring).split(".");
    for (const i of [2, 3, 4]) {
      const parts = [...s];
      const buf = Buffer.from(parts[i], "base64url");
      buf[0] ^= 1;
      parts[i] = buf.toString("base64url");
      expect(() => open(parts.join("."), "", ring)).toThrow(DecryptError);
    }
  });

  it("refuses a value moved to another record (associated data)", () => {
    const s = seal("creds", "instance-A", ring);
    expect(() => open(s, "instance-B", ring)).toThrow(/another record/);
  });

  it("rotates: old values open with the previous key; new values use the new key", () => {
    const oldKey = k("k1");
    const oldRing = keyringFrom(oldKey);
    const sealedOld = seal("token", "", oldRing);
    const rotated = keyringFrom(k("k2"), [oldKey]);
    expect(open(sealedOld, "", rotated)).toBe("token");
    expect(needsReseal(sealedOld, rotated)).toBe(true);
    const resealed = seal(open(sealedOld, "", rotated), "", rotated);
    expect(resealed.startsWith("v1.k2.")).toBe(true);
    expect(needsReseal(resealed, rotated)).toBe(false);
    // without the previous key the old value cannot be opened
    expect(() => open(sealedOld, "", keyringFrom(k("k2")))).toThrow(/unknown key id k1/);
  });

  it("rejects garbage", () => {
    expect(() => open("not-sealed", "", ring)).toThrow(DecryptError);
  });
});
