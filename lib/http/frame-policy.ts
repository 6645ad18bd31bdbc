// Who may frame the panel: GHL's own app origins, always, plus the agencies' white-label domains
// from configuration (PANEL_FRAME_ANCESTORS, space or comma separated). Never `*`, never a bare
// scheme (`https:`), never a wildcard over a public suffix (`*.com`): any site could then frame a
// signed-in panel, click-jack it, or answer its SSO handshake (sso-handshake.tsx).
//
// Pure (no env import): the panel's client code uses it too.

/** The origins GHL's own web app runs on (docs/ghl.md#panel-and-sso: the GoHighLevel and LeadConnector hosts). */
export const GHL_APP_ORIGINS = ["https://app.gohighlevel.com", "https://app.leadconnectorhq.com"] as const;

export function frameAncestors(configured: string): string {
  return ["'self'", ...frameAncestorSources(configured)].join(" ");
}

/**
 * GHL's app origins plus the configured sources that survive the filter (also the origins
 * lib/http/csrf.ts trusts and the handshake accepts an answer from).
 */
export function frameAncestorSources(configured: string): string[] {
  const sources = configured
    .split(/[\s,]+/)
    .map((s) => s.trim().replace(/\/$/, ""))
    .filter((s) => s && parseSource(s) !== null);
  return [...new Set([...GHL_APP_ORIGINS, ...sources])];
}

export function panelCsp(configured: string): string {
  return `frame-ancestors ${frameAncestors(configured)}`;
}

/**
 * Whether a frame at `origin` (a MessageEvent's origin, an Origin header) is one of `sources`, with
 * CSP host-source semantics: `https://*.x.com` is any subdomain of x.com (not x.com itself); no
 * port means the scheme's default port; a source without a scheme is taken as https.
 */
export function originMatchesSources(origin: string, sources: readonly string[]): boolean {
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    return false; // "null" (sandboxed frames, file:) and junk
  }
  if (u.origin === "null" || u.origin !== origin.replace(/\/$/, "")) return false;
  return sources.some((s) => sourceMatches(s, u));
}

type Source = { scheme: "http" | "https"; host: string; port: string };

// `[http(s)://]host[:port]`, where host is a DNS name or IPv4 address and a `*` may only be the
// whole leftmost label of a name with at least two more labels (`*.agency.io`, not `*.io`).
function parseSource(s: string): Source | null {
  const m = /^(?:(https?):\/\/)?([A-Za-z0-9*.-]+)(?::(\d{1,5}))?$/i.exec(s);
  if (!m) return null;
  const host = m[2].toLowerCase();
  const labels = host.split(".");
  if (labels.some((l) => !/^(\*|[a-z0-9]([a-z0-9-]*[a-z0-9])?)$/.test(l))) return null;
  if (labels.slice(1).includes("*")) return null;
  if (labels[0] === "*" && labels.length < 3) return null;
  return { scheme: (m[1]?.toLowerCase() ?? "https") as Source["scheme"], host, port: m[3] ?? "" };
}

function sourceMatches(source: string, u: URL): boolean {
  const s = parseSource(source.replace(/\/$/, ""));
  if (!s) return false;
  const port = s.port === (s.scheme === "https" ? "443" : "80") ? "" : s.port;
  if (u.protocol !== `${s.scheme}:` || u.port !== port) return false;
  if (s.host.startsWith("*.")) return u.hostname.endsWith(s.host.slice(1)) && u.hostname.length > s.host.length - 1;
  return u.hostname === s.host;
}
