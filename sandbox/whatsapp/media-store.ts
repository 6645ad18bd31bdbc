// WhatsApp's media CDN in miniature: encrypted blobs the clients upload (POST /mms/<type>/<hash>)
// and download (GET /v/sim/<id>), plus the media crypto a contact's phone performs, following
// Baileys' Utils/messages-media.js: AES-256-CBC, then the first 10 bytes of an HMAC-SHA256.
import { getMediaKeys, type MediaType } from "@whiskeysockets/baileys";
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from "node:crypto";

const MAX_BYTES = 256 * 1024 * 1024;

export class MediaStore {
  private readonly blobs = new Map<string, Buffer>();
  private bytes = 0;

  /** Stores an encrypted blob; returns its direct path. */
  put(data: Buffer): string {
    const path = `/v/sim/${randomBytes(12).toString("hex")}.enc`;
    this.blobs.set(path, data);
    this.bytes += data.length;
    // oldest first: Map keeps insertion order
    for (const [k, v] of this.blobs) {
      if (this.bytes <= MAX_BYTES) break;
      this.blobs.delete(k);
      this.bytes -= v.length;
    }
    return path;
  }

  get(path: string): Buffer | undefined {
    return this.blobs.get(path);
  }

  clear(): void {
    this.blobs.clear();
    this.bytes = 0;
  }
}

export interface EncryptedMedia {
  enc: Buffer;
  mediaKey: Buffer;
  fileSha256: Buffer;
  fileEncSha256: Buffer;
}

export async function encryptMedia(plain: Buffer, type: MediaType): Promise<EncryptedMedia> {
  const mediaKey = randomBytes(32);
  const { iv, cipherKey, macKey } = await keysFor(mediaKey, type);
  const cipher = createCipheriv("aes-256-cbc", cipherKey, iv);
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  const mac = createHmac("sha256", macKey).update(iv).update(body).digest().subarray(0, 10);
  const enc = Buffer.concat([body, mac]);
  return { enc, mediaKey, fileSha256: sha256(plain), fileEncSha256: sha256(enc) };
}

/** Throws when the MAC does not match: the blob was not encrypted with this media key. */
export async function decryptMedia(enc: Buffer, mediaKey: Uint8Array, type: MediaType): Promise<Buffer> {
  const { iv, cipherKey, macKey } = await keysFor(mediaKey, type);
  const body = enc.subarray(0, enc.length - 10);
  const mac = createHmac("sha256", macKey).update(iv).update(body).digest().subarray(0, 10);
  if (!mac.equals(enc.subarray(enc.length - 10))) throw new Error("media MAC mismatch");
  const decipher = createDecipheriv("aes-256-cbc", cipherKey, iv);
  return Buffer.concat([decipher.update(body), decipher.final()]);
}

export function sha256(b: Uint8Array): Buffer {
  return createHash("sha256").update(b).digest();
}

async function keysFor(mediaKey: Uint8Array, type: MediaType) {
  const { iv, cipherKey, macKey } = await getMediaKeys(mediaKey, type);
  if (!macKey) throw new Error("no mac key derived");
  return { iv, cipherKey, macKey };
}
