import { encode } from "next-auth/jwt";
import { PANEL_SESSION_COOKIE } from "@/lib/auth/auth-options";
import type { PanelIdentity } from "@/lib/auth/panel-identity";

type Times = { authTime?: number; checkedAt?: number };

/**
 * The cookie header next-auth would have set after a `ghl-sso` sign-in as this identity: the
 * handshake (`authTime`) and GHL's last word on the user (`checkedAt`) now, unless given.
 */
export async function panelCookie(identity: PanelIdentity & Times, maxAge = 3600): Promise<string> {
  const now = Date.now();
  const token = await encode({ token: { authTime: now, checkedAt: now, ...identity }, secret: process.env.NEXTAUTH_SECRET!, maxAge });
  return `${PANEL_SESSION_COOKIE}=${token}`;
}

export const identity = (o: Partial<PanelIdentity> & { locationId: string; companyId: string }): PanelIdentity => ({
  userId: "u-1", role: "admin", userName: "Ana", email: "ana@example.com", agency: false, ...o,
});
