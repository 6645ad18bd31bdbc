import { type NextRequest, NextResponse } from "next/server";
import { env } from "@/lib/env";
import { panelCsp } from "@/lib/http/frame-policy";

// The panel lives inside GHL's iframe: it may be framed only by the configured GHL origins.
export function proxy(_req: NextRequest) {
  const res = NextResponse.next();
  res.headers.set("Content-Security-Policy", panelCsp(env().PANEL_FRAME_ANCESTORS));
  return res;
}

export const config = { matcher: ["/panel", "/panel/:path*"] };
