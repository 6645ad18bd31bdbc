import { createCipheriv, createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { decryptSsoPayload, SsoPayloadError } from "./sso";

// Independent encryption the way CryptoJS.AES.encrypt(text, passphrase) does it.
function cryptoJsEncrypt(text: string, pass: string): string {
  const salt = randomBytes(8);
  let d = Buffer.alloc(0);
  let prev = Buffer.alloc(0);
  while (d.length < 48) {
    prev = createHash("md5")
      .update(Buffer.concat([prev, Buffer.from(pass), salt]))
      .digest();
    d = Buffer.concat([d, prev]);
  }
  const c = createCipheriv("aes-256-cbc", d.subarray(0, 32), d.subarray(32, 48));
  return Buffer.concat([Buffer.from("Salted__"), salt, c.update(text, "utf8"), c.final()]).toString("base64");
}

const user = {
  userId: "u1",
  companyId: "c1",
  role: "admin",
  type: "location",
  userName: "Ana",
  email: "a@x.io",
  activeLocation: "L1",
};

describe("GHL SSO payload", () => {
  it("decrypts what CryptoJS encrypted with the shared secret", () => {
    expect(decryptSsoPayload(cryptoJsEncrypt(JSON.stringify(user), "s3cret-key"), "s3cret-key")).toEqual(user);
  });
  it("rejects a payload under another secret, a tampered one, and garbage, with SsoPayloadError", () => {
    const p = cryptoJsEncrypt(JSON.stringify(user), "s3cret-key");
    expect(() => decryptSsoPayload(p, "other-key")).toThrow(SsoPayloadError);
    // CBC has no MAC: a cut ciphertext is the tampering that fails deterministically
    const raw = Buffer.from(p, "base64");
    expect(() => decryptSsoPayload(raw.subarray(0, raw.length - 3).toString("base64"), "s3cret-key")).toThrow(
      SsoPayloadError,
    );
    expect(() => decryptSsoPayload("not base64 at all", "s3cret-key")).toThrow(SsoPayloadError);
    expect(() => decryptSsoPayload(cryptoJsEncrypt('{"userId":"x"}', "k"), "k")).toThrow(SsoPayloadError);
  });
});
