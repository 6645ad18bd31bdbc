import { createDecipheriv, createHash } from "node:crypto";
import type { Redis } from "ioredis";
import { z } from "zod";

// GHL's user context for a Custom Page (docs/shared_secret_customJS_customPages.md): the parent frame
// hands over `CryptoJS.AES.encrypt(JSON, sharedSecret)`; this is `CryptoJS.AES.decrypt` in Node —
// OpenSSL "Salted__" framing, EVP_BytesToKey(MD5, 1 round), AES-256-CBC, PKCS#7.

export const ssoUserSchema = z.object({
  userId: z.string().min(1).max(100),
  companyId: z.string().min(1).max(100),
  role: z.string().max(40).default("user"),
  type: z.string().max(40).default("location"),
  userName: z.string().max(200).optional(),
  email: z.string().max(320).optional(),
  activeLocation: z.string().min(1).max(100).optional(),
});
export type SsoUser = z.infer<typeof ssoUserSchema>;

export class SsoPayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SsoPayloadError";
  }
}

export function cryptoJsDecrypt(payload: string, passphrase: string): string {
  const raw = Buffer.from(payload, "base64");
  if (raw.length < 32 || raw.subarray(0, 8).toString("latin1") !== "Salted__")
    throw new SsoPayloadError("not a CryptoJS payload");
  const salt = raw.subarray(8, 16);
  const { key, iv } = evpBytesToKey(Buffer.from(passphrase, "utf8"), salt);
  try {
    const d = createDecipheriv("aes-256-cbc", key, iv);
    return Buffer.concat([d.update(raw.subarray(16)), d.final()]).toString("utf8");
  } catch {
    throw new SsoPayloadError("the payload does not decrypt with this shared secret");
  }
}

/** Decrypts and validates; any tampering or a wrong secret is an SsoPayloadError, never a crash. */
export function decryptSsoPayload(payload: string, sharedSecret: string): SsoUser {
  if (typeof payload !== "string" || payload.length > 8192) throw new SsoPayloadError("payload missing or too large");
  const text = cryptoJsDecrypt(payload, sharedSecret);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SsoPayloadError("the decrypted payload is not JSON");
  }
  const r = ssoUserSchema.safeParse(json);
  if (!r.success) throw new SsoPayloadError("the decrypted payload lacks userId/companyId");
  return r.data;
}

/**
 * GHL's user payload carries no time (docs/shared_secret_customJS_customPages.md: userId, companyId,
 * role, type, userName, email, activeLocation), so its age cannot be checked. What can be bounded:
 * each ciphertext signs in once. CryptoJS draws a new salt per encryption, so a genuine handshake
 * never presents the same string twice; a second use is a replay. Remembered for `ttlSeconds`.
 */
export async function claimSsoPayloadOnce(redis: Redis, payload: string, ttlSeconds: number): Promise<boolean> {
  const key = `gw:panel:sso-used:${createHash("sha256").update(payload).digest("hex")}`;
  return (await redis.set(key, "1", "EX", ttlSeconds, "NX")) === "OK";
}

function evpBytesToKey(pass: Buffer, salt: Buffer): { key: Buffer; iv: Buffer } {
  const out: Buffer[] = [];
  let prev = Buffer.alloc(0);
  let len = 0;
  while (len < 48) {
    prev = createHash("md5")
      .update(Buffer.concat([prev, pass, salt]))
      .digest();
    out.push(prev);
    len += prev.length;
  }
  const all = Buffer.concat(out);
  return { key: all.subarray(0, 32), iv: all.subarray(32, 48) };
}
