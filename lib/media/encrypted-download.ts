import { createDecipheriv } from "node:crypto";

// Downloads and decrypts one WhatsApp media blob (AES-256-CBC, a 10-byte MAC at the end, as
// Baileys' downloadEncryptedContent reads it) with a hard ceiling on the bytes fetched and kept.
//
// Baileys' own stream is not used: destroying it leaves the HTTP body paused on an open
// connection (the decipher is only piped from it), and a body the host cuts short errors on a
// stream nobody listens to, which throws out of the process. Here every failure lands in the
// returned promise, and stopping aborts the request itself.

export class MediaHostError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export type EncryptedDownload =
  | { ok: true; bytes: Buffer; fetchedBytes: number }
  /** over `limit`: nothing kept; `declaredBytes` is the host's Content-Length when it gave one */
  | { ok: false; fetchedBytes: number; declaredBytes: number | null };

export type DownloadOptions = {
  url: string;
  cipherKey: Uint8Array;
  iv: Uint8Array;
  /** most plaintext bytes accepted */
  limit: number;
  headers?: Record<string, string>;
  /** the host sending nothing for this long is a failure (default 60 s) */
  idleTimeoutMs?: number;
};

const AES_BLOCK = 16;
const MAC_BYTES = 10;

/** The largest encrypted body an honest file of `limit` bytes can have (padding and MAC). */
export function encryptedCeiling(limit: number): number {
  return limit + AES_BLOCK + MAC_BYTES;
}

export async function downloadEncrypted(o: DownloadOptions): Promise<EncryptedDownload> {
  const ac = new AbortController();
  const idleMs = o.idleTimeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => ac.abort(new Error(`the media host sent nothing for ${idleMs} ms`)), idleMs);
  };
  const ceiling = encryptedCeiling(o.limit);
  let fetched = 0;
  arm();
  try {
    const res = await fetch(o.url, { headers: o.headers, signal: ac.signal });
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      throw new MediaHostError(res.status, `the media host answered ${res.status}`);
    }
    const header = res.headers.get("content-length");
    const declared = header !== null && /^\d+$/.test(header) ? Number(header) : null;
    const tooLarge = (): EncryptedDownload => {
      ac.abort();
      return { ok: false, fetchedBytes: fetched, declaredBytes: declared };
    };
    if (declared !== null && declared > ceiling) {
      await res.body?.cancel().catch(() => {});
      return tooLarge();
    }
    if (!res.body) throw new Error("the media host sent no body");
    const sink = new Sink(o.limit, declared);
    const decipher = createDecipheriv("aes-256-cbc", o.cipherKey, o.iv);
    const reader = res.body.getReader();
    let carry: Buffer = Buffer.alloc(0);
    for (;;) {
      arm();
      const { done, value } = await reader.read();
      if (done) break;
      fetched += value.length;
      if (fetched > ceiling) {
        await reader.cancel().catch(() => {});
        return tooLarge();
      }
      const data = carry.length ? Buffer.concat([carry, value]) : Buffer.from(value.buffer, value.byteOffset, value.length);
      // whole blocks only; the MAC's 10 bytes never complete one and are left over at the end
      const whole = data.length - (data.length % AES_BLOCK);
      carry = Buffer.from(data.subarray(whole));
      if (!sink.push(decipher.update(data.subarray(0, whole)))) {
        await reader.cancel().catch(() => {});
        return tooLarge();
      }
    }
    if (!sink.push(decipher.final())) return tooLarge();
    return { ok: true, bytes: sink.bytes(), fetchedBytes: fetched };
  } catch (err) {
    ac.abort();
    if (err instanceof MediaHostError) throw err;
    const reason = ac.signal.reason instanceof Error && ac.signal.reason.message.startsWith("the media host") ? ac.signal.reason : err;
    throw new Error(`media download failed after ${fetched} bytes: ${(reason as Error)?.message ?? reason}`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The plaintext kept so far, never more than `limit` bytes. With a Content-Length the buffer is
 * allocated once (the plaintext is never longer than the ciphertext), so the chunks do not pile
 * up beside a final copy.
 */
class Sink {
  private readonly chunks: Buffer[] = [];
  private readonly whole: Buffer | null;
  private kept = 0;

  constructor(private readonly limit: number, declared: number | null) {
    this.whole = declared !== null ? Buffer.allocUnsafe(Math.min(declared, limit)) : null;
  }

  push(b: Buffer): boolean {
    if (!b.length) return true;
    if (this.kept + b.length > this.limit) return false;
    if (this.whole && this.kept + b.length <= this.whole.length) b.copy(this.whole, this.kept);
    else if (this.whole) return false; // more than the host said it would send: not a body to trust
    else this.chunks.push(b);
    this.kept += b.length;
    return true;
  }

  bytes(): Buffer {
    if (this.whole) return this.whole.subarray(0, this.kept);
    return this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.kept);
  }
}
