// WhatsApp's media CDN in miniature: encrypted blobs the clients upload (POST /mms/<type>/<hash>)
// and download (GET /v/sim/<id>), plus the media crypto a contact's phone performs, following
// Baileys' Utils/messages-media.js: AES-256-CBC, then the first 10 bytes of an HMAC-SHA256.

import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from "node:crypto";
import { getMediaKeys, type MediaType } from "@whiskeysockets/baileys";

const MAX_BYTES = 256 * 1024 * 1024;
/** Generated bodies: WhatsApp's document limit (2 GB) is what a sender could reach */
export const MAX_GENERATED_BYTES = 2 * 1024 * 1024 * 1024;
const BLOCK = 64 * 1024;

/**
 * A body of `size` bytes that is never held: its plaintext is one random 64 KiB block repeated,
 * encrypted again, chunk by chunk, for each download. `chunked`: served without Content-Length,
 * as a host the sender runs itself may (a message may name any URL).
 */
export interface GeneratedBlob {
  size: number;
  type: MediaType;
  mediaKey: Buffer;
  block: Buffer;
  chunked: boolean;
}

export type MediaEntry = {
  path: string;
  data?: Buffer;
  generated?: GeneratedBlob;
  downloads: number;
  bytesServed: number;
};

export class MediaStore {
  private readonly blobs = new Map<string, MediaEntry>();
  private bytes = 0;

  /** Stores an encrypted blob; returns its direct path. */
  put(data: Buffer): string {
    return this.add({ data });
  }

  /** Registers a generated body (generatedMedia); returns its direct path. */
  putGenerated(g: GeneratedBlob): string {
    return this.add({ generated: g });
  }

  /** A stored (uploaded) blob; generated bodies are not buffers: see entry(). */
  get(path: string): Buffer | undefined {
    return this.blobs.get(path)?.data;
  }

  entry(path: string): MediaEntry | undefined {
    return this.blobs.get(path);
  }

  /** What the media host holds and how much of each it has served, oldest first. */
  stats(): {
    path: string;
    bytes: number;
    generated: boolean;
    chunked: boolean;
    downloads: number;
    bytesServed: number;
  }[] {
    return [...this.blobs.values()].map((e) => ({
      path: e.path,
      bytes: e.data?.length ?? encryptedSize(e.generated!.size),
      generated: !!e.generated,
      chunked: !!e.generated?.chunked,
      downloads: e.downloads,
      bytesServed: e.bytesServed,
    }));
  }

  clear(): void {
    this.blobs.clear();
    this.bytes = 0;
  }

  private add(e: Omit<MediaEntry, "path" | "downloads" | "bytesServed">): string {
    const path = `/v/sim/${randomBytes(12).toString("hex")}.enc`;
    this.blobs.set(path, { ...e, path, downloads: 0, bytesServed: 0 });
    this.bytes += held(e);
    // oldest first: Map keeps insertion order
    for (const [k, v] of this.blobs) {
      if (this.bytes <= MAX_BYTES) break;
      this.blobs.delete(k);
      this.bytes -= held(v);
    }
    return path;
  }
}

function held(e: Pick<MediaEntry, "data" | "generated">): number {
  return e.data?.length ?? e.generated?.block.length ?? 0;
}

/** AES-CBC pads to the next whole block (always at least one byte), then the 10-byte MAC. */
export function encryptedSize(plainSize: number): number {
  return (Math.floor(plainSize / 16) + 1) * 16 + 10;
}

/**
 * The encrypted body of a generated blob, chunk by chunk, exactly as encryptMedia would produce
 * it for the whole plaintext. `onPlain` sees each plaintext chunk (for its hash).
 */
export async function* generatedChunks(g: GeneratedBlob, onPlain?: (b: Buffer) => void): AsyncGenerator<Buffer> {
  const { iv, cipherKey, macKey } = await keysFor(g.mediaKey, g.type);
  const cipher = createCipheriv("aes-256-cbc", cipherKey, iv);
  const mac = createHmac("sha256", macKey).update(iv);
  for (let at = 0; at < g.size; at += BLOCK) {
    const plain = g.block.subarray(0, Math.min(BLOCK, g.size - at));
    onPlain?.(plain);
    const enc = cipher.update(plain);
    mac.update(enc);
    yield enc;
  }
  const last = cipher.final();
  mac.update(last);
  yield Buffer.concat([last, mac.digest().subarray(0, 10)]);
}

/** A generated body and the hashes its message carries, found in one pass without holding it. */
export async function generatedMedia(
  size: number,
  type: MediaType,
  chunked: boolean,
): Promise<Omit<EncryptedMedia, "enc"> & { blob: GeneratedBlob }> {
  const blob: GeneratedBlob = { size, type, mediaKey: randomBytes(32), block: randomBytes(BLOCK), chunked };
  const plainHash = createHash("sha256");
  const encHash = createHash("sha256");
  let n = 0;
  for await (const enc of generatedChunks(blob, (p) => plainHash.update(p))) {
    encHash.update(enc);
    // a 2 GB body takes seconds: let the simulator answer meanwhile
    if (++n % 64 === 0) await new Promise((r) => setImmediate(r));
  }
  return { blob, mediaKey: blob.mediaKey, fileSha256: plainHash.digest(), fileEncSha256: encHash.digest() };
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
