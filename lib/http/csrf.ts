import { env } from "../env";
import { AppError } from "../errors";
import { frameAncestorSources } from "./frame-policy";

// CSRF for requests authenticated by the panel cookie. The cookie is SameSite=None (it must travel
// inside GHL's third-party iframe), so the browser attaches it to requests any site makes. A state
// change (POST/PUT/PATCH/DELETE) made with it must therefore:
//  - come from an allowed Origin: APP_URL's (the panel's own fetches) or one PANEL_FRAME_ANCESTORS
//    lists (GHL and white-label domains, the pages that frame the panel) — 403 otherwise;
//  - say `content-type: application/json` — 415 otherwise. No page can send that cross-origin
//    without a CORS preflight, which this app never answers with Access-Control-Allow-*.
// Requests authenticated by an API key or a GHL signature are not cookie requests: the browser
// never adds those credentials by itself, so they are not checked here.

const STATE_CHANGING = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export type CsrfOptions = { appUrl: string; frameAncestors: string; requireJson?: boolean };

/** Throws 403/415 unless `req` is a read or a same-origin (or allowed GHL origin) JSON state change. */
export function assertCookieRequestAllowed(req: Request, options: Partial<CsrfOptions> = {}): void {
  if (!STATE_CHANGING.has(req.method.toUpperCase())) return;
  const o = { ...(options.appUrl === undefined ? fromEnv() : {}), ...options } as CsrfOptions;
  const origin = req.headers.get("origin");
  // Every browser that sends Sec-Fetch-Site also sends Origin on these methods; the fallback only
  // keeps a same-origin request of an odd client working. No Origin and no Sec-Fetch-Site is refused.
  const allowed = origin ? originAllowed(origin, o) : req.headers.get("sec-fetch-site") === "same-origin";
  if (!allowed)
    throw new AppError("forbidden", "cross-site request refused: send it from the panel (Origin is not this app's)");
  if ((o.requireJson ?? true) && !isJson(req.headers.get("content-type"))) {
    throw new AppError("unsupported_media_type", "send the request with content-type: application/json");
  }
}

export function isJson(contentType: string | null): boolean {
  const type = (contentType ?? "").split(";")[0].trim().toLowerCase();
  return type === "application/json";
}

export function originAllowed(origin: string, o: Pick<CsrfOptions, "appUrl" | "frameAncestors">): boolean {
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    return false; // "null" (sandboxed frames, privacy redirects) and junk
  }
  if (u.origin === "null" || u.origin !== origin.replace(/\/$/, "")) return false;
  if (u.origin === new URL(o.appUrl).origin) return true;
  return frameAncestorSources(o.frameAncestors).some((s) => sourceMatches(s, u));
}

// CSP host-source semantics: `https://*.x.com` is any subdomain of x.com (not x.com itself); no
// port means the scheme's default port; a source without a scheme is taken as https.
function sourceMatches(source: string, u: URL): boolean {
  const m = /^(?:(https?):\/\/)?([A-Za-z0-9*.-]+)(?::(\d+))?$/.exec(source);
  if (!m) return false;
  const [, scheme = "https", host, port = ""] = m;
  if (u.protocol !== `${scheme.toLowerCase()}:` || u.port !== (port === defaultPort(scheme) ? "" : port)) return false;
  const h = host.toLowerCase();
  if (h.startsWith("*.")) return u.hostname.endsWith(h.slice(1)) && u.hostname.length > h.length - 1;
  return !h.includes("*") && u.hostname === h;
}

const defaultPort = (scheme: string) => (scheme.toLowerCase() === "https" ? "443" : "80");

function fromEnv(): CsrfOptions {
  const e = env();
  return { appUrl: e.APP_URL, frameAncestors: e.PANEL_FRAME_ANCESTORS };
}
