import { encode } from "next-auth/jwt";
import { PANEL_SESSION_COOKIE } from "@/lib/auth/auth-options";
import type { PanelIdentity } from "@/lib/auth/panel-identity";

/** The cookie header next-auth would have set after a `ghl-sso` sign-in as this identity. */
export async function panelCookie(identity: PanelIdentity, maxAge = 3600): Promise<string> {
  const token = await encode({ token: { ...identity }, secret: process.env.NEXTAUTH_SECRET!, maxAge });
  return `${PANEL_SESSION_COOKIE}=${token}`;
}

export const identity = (o: Partial<PanelIdentity> & { locationId: string; companyId: string }): PanelIdentity => ({
  userId: "u-1", role: "admin", userName: "Ana", email: "ana@example.com", agency: false, ...o,
});
