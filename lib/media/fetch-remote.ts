import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { AppError } from "../errors";

// Fetches a media URL that a tenant (or GHL) gave us, without letting it reach our own network:
// http(s) only, every resolved address public unless allowed (sandbox), redirects re-checked,
// size and time limits, content type checked against what the message needs.

export type FetchedMedia = { bytes: Buffer; contentType: string; fileName: string };
export type FetchOptions = {
  allowPrivate?: boolean;
  maxBytes?: number;
  timeoutMs?: number;
  accept?: RegExp;
  resolve?: (host: string) => Promise<string[]>;
  maxRedirects?: number;
};

const mediaError = (m: string) => new AppError("unprocessable", m, 422);

export async function fetchRemoteMedia(rawUrl: string, o: FetchOptions = {}): Promise<FetchedMedia> {
  const maxBytes = o.maxBytes ?? 64 * 1024 * 1024;
  const deadline = AbortSignal.timeout(o.timeoutMs ?? 20_000);
  let url = parseUrl(rawUrl);
  for (let hop = 0; hop <= (o.maxRedirects ?? 3); hop++) {
    await assertPublic(url, o);
    let res: Response;
    try {
      res = await fetch(url, { redirect: "manual", signal: deadline, headers: { "user-agent": "ghl-whatsapp-gateway/1" } });
    } catch (e) {
      throw mediaError(`could not download ${url.host}: ${e instanceof Error && e.name === "TimeoutError" ? "timed out" : "connection failed"}`);
    }
    if (res.status >= 300 && res.status < 400 && res.headers.get("location")) {
      url = parseUrl(new URL(res.headers.get("location")!, url).toString());
      continue;
    }
    if (!res.ok) throw mediaError(`downloading the attachment failed: ${url.host} answered ${res.status}`);
    const contentType = (res.headers.get("content-type") ?? "application/octet-stream").split(";")[0].trim().toLowerCase();
    if (o.accept && !o.accept.test(contentType)) throw mediaError(`the attachment is ${contentType}, which cannot be sent this way`);
    const declared = Number(res.headers.get("content-length") ?? 0);
    if (declared > maxBytes) throw mediaError(`the attachment is larger than ${Math.round(maxBytes / 1048576)} MB`);
    const bytes = await readCapped(res, maxBytes);
    return { bytes, contentType, fileName: decodeURIComponent(url.pathname.split("/").pop() || "file") };
  }
  throw mediaError("the attachment URL redirects too many times");
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

async function assertPublic(u: URL, o: FetchOptions) {
  if (o.allowPrivate) return;
  const host = u.hostname.replace(/^\[|\]$/g, "");
  const addrs = isIP(host) ? [host] : await (o.resolve ?? defaultResolve)(host).catch(() => []);
  if (addrs.length === 0) throw mediaError(`the attachment host ${host} does not resolve`);
  for (const a of addrs) if (isPrivateAddress(a)) throw mediaError(`the attachment host ${host} is on a private network`);
}

async function defaultResolve(host: string): Promise<string[]> {
  return (await lookup(host, { all: true })).map((r) => r.address);
}

export function isPrivateAddress(addr: string): boolean {
  if (isIP(addr) === 4) {
    const [a, b] = addr.split(".").map(Number);
    return a === 0 || a === 10 || a === 127 || (a === 100 && b >= 64 && b <= 127) || (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 198 && (b === 18 || b === 19)) || a >= 224;
  }
  const v6 = addr.toLowerCase();
  if (v6 === "::" || v6 === "::1") return true;
  const mapped = v6.match(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/);
  if (mapped) return isPrivateAddress(mapped[1]);
  return /^(fc|fd|fe8|fe9|fea|feb|ff)/.test(v6);
}

async function readCapped(res: Response, max: number): Promise<Buffer> {
  if (!res.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let total = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => {});
      throw mediaError(`the attachment is larger than ${Math.round(max / 1048576)} MB`);
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks);
}
