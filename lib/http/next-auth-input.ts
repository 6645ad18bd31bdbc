import { badRequest, notFound } from "../errors";

// next-auth 4 answers 500 (and logs an error) for input that is merely wrong: a `callbackUrl` query
// parameter or callback-url cookie that is not an http(s) URL fails its "configuration" check, a
// malformed JSON body throws from `req.json()`, a `callbackUrl` in the body that is not a URL throws
// from its redirect callback, and a GET of the credentials callback is "not supported" as a 500.
// Checked here first, with next-auth's own URL rule: bad input is a 400, an action it has no
// answer for a 404.

/** The actions next-auth 4 serves per method (core/index.js), less the credentials callback by GET. */
const ACTIONS: Record<string, ReadonlySet<string>> = {
  GET: new Set(["providers", "session", "csrf", "signin", "signout", "error", "verify-request"]),
  POST: new Set(["signin", "signout", "callback", "session", "_log"]),
};

/** next-auth's isValidHttpUrl (core/lib/assert.js). */
function httpUrl(url: string, base: string): boolean {
  try {
    return /^https?:/.test(new URL(url, url.startsWith("/") ? base : undefined).protocol);
  } catch {
    return false;
  }
}

function cookieValue(header: string | null, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i > 0 && part.slice(0, i).trim() === name) {
      const raw = part
        .slice(i + 1)
        .trim()
        .replace(/^"(.*)"$/, "$1");
      try {
        return raw.includes("%") ? decodeURIComponent(raw) : raw;
      } catch {
        return raw; // what the `cookie` package next-auth uses does too
      }
    }
  }
  return undefined;
}

/**
 * Throws 400/404 for what next-auth would answer with a 500. `action`: the `[...nextauth]` segments;
 * `callbackCookie`: the callback-url cookie's name.
 */
export async function assertNextAuthInput(
  req: Request,
  action: readonly string[] | undefined,
  callbackCookie: string,
): Promise<void> {
  if (!ACTIONS[req.method]?.has(action?.[0] ?? ""))
    throw notFound(`no auth endpoint ${req.method} ${(action ?? []).join("/").slice(0, 64)}`);
  const url = new URL(req.url);
  const fromQuery = url.searchParams.get("callbackUrl");
  if (fromQuery && !httpUrl(fromQuery, url.origin)) throw badRequest("callbackUrl must be an http(s) URL or a path");
  const fromCookie = cookieValue(req.headers.get("cookie"), callbackCookie);
  if (fromCookie && !httpUrl(fromCookie, url.origin))
    throw badRequest("the callback-url cookie is not an http(s) URL or a path");
  if (req.method !== "POST" || !req.body) return;
  // the body as next-auth's getBody reads it (next/utils.js): JSON, a form, or nothing
  const type = req.headers.get("content-type") ?? "";
  let body: unknown;
  if (type.includes("application/json")) {
    try {
      body = JSON.parse(await req.clone().text());
    } catch {
      throw badRequest("the body is not valid JSON");
    }
  } else if (type.includes("application/x-www-form-urlencoded")) {
    body = Object.fromEntries(new URLSearchParams(await req.clone().text()));
  }
  const cb = body && typeof body === "object" ? (body as Record<string, unknown>).callbackUrl : undefined;
  if (cb !== undefined && cb !== null && (typeof cb !== "string" || (cb !== "" && !httpUrl(cb, url.origin))))
    throw badRequest("callbackUrl must be an http(s) URL or a path");
}
