import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  DecryptError,
  derivedKey,
  derivedKeys,
  keyringFrom,
  needsReseal,
  open,
  openToBuffer,
  resealed,
  seal,
} from "./crypto";

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

describe("the key list across a rotation", () => {
  const k1 = k("k1");
  const k2 = k("k2");
  const before = keyringFrom(k1);
  const after = keyringFrom(k2, [k1]);

  it("signs with the current key and verifies with any: derived keys list the current first", () => {
    const keys = derivedKeys("media-url", after);
    expect(keys).toHaveLength(2);
    expect(keys[0].equals(derivedKey("media-url", after))).toBe(true);
    expect(keys[1].equals(derivedKey("media-url", before))).toBe(true); // what k1 signed still verifies
    expect(derivedKey("media-url", after).equals(derivedKey("oauth-state", after))).toBe(false);
  });

  it("re-seals an old value with the current key, and leaves a current one alone (idempotent)", () => {
    const old = seal("refresh-token", "location:L1:refresh", before);
    const fresh = resealed(old, "location:L1:refresh", after)!;
    expect(fresh.startsWith("v1.k2.")).toBe(true);
    expect(open(fresh, "location:L1:refresh", keyringFrom(k2))).toBe("refresh-token"); // k1 no longer needed
    expect(resealed(fresh, "location:L1:refresh", after)).toBeNull();
    expect(() => resealed(old, "location:L2:refresh", after)).toThrow(DecryptError); // aad still binds it
    expect(() => resealed(seal("x", "", keyringFrom(k("k0"))), "", after)).toThrow(/unknown key id k0/);
  });

  it("refuses one key id naming two different keys, accepts the same key listed twice", () => {
    expect(() => keyringFrom(k("k1"), [k("k1")])).toThrow(/k1 is used by two different keys/);
    expect(keyringFrom(k1, [k1, k1]).all.size).toBe(1);
  });
});
