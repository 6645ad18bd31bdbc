import { AppError, unauthorized } from "../errors";

// The body of a call GHL signs (app webhooks, the Delivery URL), read with as little trust as
// possible: nothing is read from a call without a signature header (401), and at most `max`
// bytes are read from one with it (413, the stream cancelled at the cap, a declared
// Content-Length over the cap refused before reading). The signature itself can only be checked
// on the whole body, by the caller.

export const SIGNED_BODY_MAX_BYTES = 1024 * 1024;

export function hasSignatureHeader(headers: Headers): boolean {
  return !!(headers.get("x-ghl-signature") || headers.get("x-wh-signature"));
}

export async function readSignedBody(
  req: Request,
  o: { what: string; allowUnsigned?: boolean; max?: number },
): Promise<Buffer> {
  if (!o.allowUnsigned && !hasSignatureHeader(req.headers)) {
    await req.body?.cancel().catch(() => {});
    throw unauthorized(`the ${o.what} is not signed`);
  }
  return readCappedBody(req, o.max ?? SIGNED_BODY_MAX_BYTES);
}

/** The body, at most `max` bytes: a larger one is refused (413) before it is all read. */
export async function readCappedBody(req: Request, max: number): Promise<Buffer> {
  const tooLarge = () => new AppError("payload_too_large", `the body is larger than ${max} bytes`);
  const declared = Number(req.headers.get("content-length") ?? NaN);
  if (declared > max) {
    await req.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  if (!req.body) return Buffer.alloc(0);
  const reader = req.body.getReader();
  const chunks: Buffer[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks, size);
}
