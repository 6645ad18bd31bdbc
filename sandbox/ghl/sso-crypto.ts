import { createCipheriv, createHash, randomBytes } from "node:crypto";

// CryptoJS.AES.encrypt(text, passphrase) in Node: OpenSSL "Salted__" framing, key and IV from
// EVP_BytesToKey(MD5, one iteration), AES-256-CBC with PKCS#7 padding, base64. This is what GHL
// hands the custom page and what `CryptoJS.AES.decrypt(payload, sharedSecret)` undoes.
export function cryptoJsEncrypt(plaintext: string, passphrase: string): string {
  const salt = randomBytes(8);
  const { key, iv } = evpBytesToKey(Buffer.from(passphrase, "utf8"), salt);
  const cipher = createCipheriv("aes-256-cbc", key, iv);
  const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return Buffer.concat([Buffer.from("Salted__", "latin1"), salt, ct]).toString("base64");
}

function evpBytesToKey(pass: Buffer, salt: Buffer): { key: Buffer; iv: Buffer } {
  const blocks: Buffer[] = [];
  let prev = Buffer.alloc(0);
  while (Buffer.concat(blocks).length < 48) {
    prev = createHash("md5")
      .update(Buffer.concat([prev, pass, salt]))
      .digest();
    blocks.push(prev);
  }
  const all = Buffer.concat(blocks);
  return { key: all.subarray(0, 32), iv: all.subarray(32, 48) };
}

export interface SsoUser {
  userId: string;
  companyId: string;
  role: "admin" | "user";
  type: "agency" | "location";
  userName: string;
  email: string;
  activeLocation?: string;
}

export function ssoPayload(user: SsoUser, sharedSecret: string): string {
  return cryptoJsEncrypt(JSON.stringify(user), sharedSecret);
}
