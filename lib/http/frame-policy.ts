// Who may frame the panel: GHL's app domains plus the agencies' white-label domains, from
// configuration (PANEL_FRAME_ANCESTORS, space or comma separated). Never `*`: any site could then
// frame a signed-in panel and click-jack it.
export function frameAncestors(configured: string): string {
  return ["'self'", ...frameAncestorSources(configured)].join(" ");
}

/** The configured sources that survive the filter (also the GHL origins lib/http/csrf.ts trusts). */
export function frameAncestorSources(configured: string): string[] {
  const sources = configured
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s && s !== "*" && /^(https?:\/\/)?[A-Za-z0-9*.-]+(:\d+)?\/?$/.test(s))
    .map((s) => s.replace(/\/$/, ""));
  return [...new Set(sources)];
}

export function panelCsp(configured: string): string {
  return `frame-ancestors ${frameAncestors(configured)}`;
}
