import { createDecipheriv } from "node:crypto";
import { BlockedAddressError, type GuardOptions, guardedRequest } from "../net/guarded-request";

// Downloads and decrypts one WhatsApp media blob (AES-256-CBC, a 10-byte MAC at the end, as
// Baileys' downloadEncryptedContent reads it) with a hard ceiling on the bytes fetched and kept.
//
// Baileys' own stream is not used: destroying it leaves the HTTP body paused on an open
// connection (the decipher is only piped from it), and a body the host cuts short errors on a
// stream nobody listens to, which throws out of the process. Here every failure lands in the
// returned promise, and stopping aborts the request itself.
//
// The URL is the sender's word (a message may name any `url`, and the host a `directPath` is
// joined to comes from it), so the request goes through lib/net/guarded-request.ts: it cannot
// reach a private or reserved address, unless its origin is on the allow-list (the sandbox).

export class MediaHostError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
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
  /** origins that may be on private addresses (MEDIA_URL_ALLOWED_ORIGINS); a test resolver */
  guard?: GuardOptions;
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
    const res = await guardedRequest(new URL(o.url), { ...o.guard, headers: o.headers, signal: ac.signal });
    const status = res.statusCode ?? 0;
    if (status < 200 || status > 299) {
      res.destroy();
      throw new MediaHostError(status, `the media host answered ${status}`);
    }
    const header = res.headers["content-length"];
    const declared = header !== undefined && /^\d+$/.test(header) ? Number(header) : null;
    const tooLarge = (): EncryptedDownload => {
      res.destroy();
      ac.abort();
      return { ok: false, fetchedBytes: fetched, declaredBytes: declared };
    };
    if (declared !== null && declared > ceiling) return tooLarge();
    const sink = new Sink(o.limit, declared);
    const decipher = createDecipheriv("aes-256-cbc", o.cipherKey, o.iv);
    let carry: Buffer = Buffer.alloc(0);
    for await (const chunk of res as AsyncIterable<Buffer>) {
      arm();
      fetched += chunk.length;
      if (fetched > ceiling) return tooLarge();
      const data = carry.length ? Buffer.concat([carry, chunk]) : chunk;
      // whole blocks only; the MAC's 10 bytes never complete one and are left over at the end
      const whole = data.length - (data.length % AES_BLOCK);
      carry = Buffer.from(data.subarray(whole));
      if (!sink.push(decipher.update(data.subarray(0, whole)))) return tooLarge();
    }
    // a body that ends before its Content-Length is a cut, not a file
    if (declared !== null && fetched < declared)
      throw new Error(`the media host closed the body at ${fetched} of ${declared} bytes`);
    if (!sink.push(decipher.final())) return tooLarge();
    return { ok: true, bytes: sink.bytes(), fetchedBytes: fetched };
  } catch (err) {
    ac.abort();
    if (err instanceof MediaHostError || err instanceof BlockedAddressError) throw err;
    const reason =
      ac.signal.reason instanceof Error && ac.signal.reason.message.startsWith("the media host")
        ? ac.signal.reason
        : err;
    throw new Error(`media download failed after ${fetched} bytes: ${(reason as Error)?.message ?? reason}`, {
      cause: err,
    });
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

  constructor(
    private readonly limit: number,
    declared: number | null,
  ) {
    this.whole = declared !== null ? Buffer.allocUnsafe(Math.min(declared, limit)) : null;
  }

  push(b: Buffer): boolean {
    if (!b.length) return true;
    if (this.kept + b.length > this.limit) return false;
    if (this.whole && this.kept + b.length <= this.whole.length) b.copy(this.whole, this.kept);
    else if (this.whole)
      return false; // more than the host said it would send: not a body to trust
    else this.chunks.push(b);
    this.kept += b.length;
    return true;
  }

  bytes(): Buffer {
    if (this.whole) return this.whole.subarray(0, this.kept);
    return this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.kept);
  }
}
