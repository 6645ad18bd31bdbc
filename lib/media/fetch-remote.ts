import type { IncomingMessage } from "node:http";
import { AppError } from "../errors";
import { BlockedAddressError, type GuardOptions, guardedRequest, literalAddressProblem } from "../net/guarded-request";

// Fetches a media URL that a tenant (or GHL) gave us, without letting it reach our own network:
// http(s) only, the address connected to must be public unless its origin is allow-listed
// (the sandbox; lib/net/guarded-request.ts), each redirect hop checked again, size and time
// limits, content type checked against what the message needs.

export type FetchedMedia = { bytes: Buffer; contentType: string; fileName: string };
export type FetchOptions = GuardOptions & {
  maxBytes?: number;
  timeoutMs?: number;
  accept?: RegExp;
  maxRedirects?: number;
};

const mediaError = (m: string) => new AppError("unprocessable", m);

export async function fetchRemoteMedia(rawUrl: string, o: FetchOptions = {}): Promise<FetchedMedia> {
  const maxBytes = o.maxBytes ?? 64 * 1024 * 1024;
  const deadline = AbortSignal.timeout(o.timeoutMs ?? 20_000);
  let url = parseUrl(rawUrl);
  for (let hop = 0; hop <= (o.maxRedirects ?? 3); hop++) {
    let res: IncomingMessage;
    try {
      res = await guardedRequest(url, { ...o, signal: deadline, headers: { "user-agent": "ghl-whatsapp-gateway/1" } });
    } catch (e) {
      if (e instanceof BlockedAddressError) throw mediaError(`the attachment host ${e.host} is on a private network`);
      if ((e as NodeJS.ErrnoException).code === "ENOTFOUND")
        throw mediaError(`the attachment host ${url.hostname} does not resolve`);
      throw mediaError(`could not download ${url.host}: ${deadline.aborted ? "timed out" : "connection failed"}`);
    }
    const status = res.statusCode ?? 0;
    const location = header(res, "location");
    if (status >= 300 && status < 400 && location) {
      res.resume();
      url = parseUrl(new URL(location, url).toString());
      continue;
    }
    if (status < 200 || status >= 300) {
      res.resume();
      throw mediaError(`downloading the attachment failed: ${url.host} answered ${status}`);
    }
    const contentType = (header(res, "content-type") ?? "application/octet-stream").split(";")[0].trim().toLowerCase();
    const fail = (m: string) => {
      res.destroy();
      return mediaError(m);
    };
    if (o.accept && !o.accept.test(contentType))
      throw fail(`the attachment is ${contentType}, which cannot be sent this way`);
    const declared = Number(header(res, "content-length") ?? 0);
    if (declared > maxBytes) throw fail(`the attachment is larger than ${Math.round(maxBytes / 1048576)} MB`);
    const bytes = await readCapped(res, maxBytes, deadline);
    return { bytes, contentType, fileName: decodeURIComponent(url.pathname.split("/").pop() || "file") };
  }
  throw mediaError("the attachment URL redirects too many times");
}

/**
 * Refuses, before anything is stored, a message whose media URL cannot be fetched: not http(s),
 * carrying credentials, or naming a private/reserved address or `localhost` outright (names are
 * judged when the worker connects). 422 with the reason, so the caller learns it at once.
 */
export function assertMediaUrlsAcceptable(urls: readonly string[], allowedOrigins: readonly string[]): void {
  for (const raw of urls) {
    const u = parseUrl(raw);
    const problem = literalAddressProblem(u, allowedOrigins);
    if (problem)
      throw mediaError(`the attachment URL ${u.host} cannot be fetched: ${problem}; use a public http(s) URL`);
  }
}

function parseUrl(raw: string): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw mediaError("the attachment URL is not a valid URL");
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") throw mediaError("attachment URLs must be http or https");
  if (u.username || u.password) throw mediaError("attachment URLs must not carry credentials");
  return u;
}

function header(res: IncomingMessage, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

async function readCapped(res: IncomingMessage, max: number, deadline: AbortSignal): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      total += chunk.byteLength;
      if (total > max) {
        res.destroy();
        throw mediaError(`the attachment is larger than ${Math.round(max / 1048576)} MB`);
      }
      chunks.push(chunk);
    }
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw mediaError(`downloading the attachment failed: ${deadline.aborted ? "timed out" : "the connection broke"}`);
  }
  return Buffer.concat(chunks, total);
}
