import type { Redis } from "ioredis";
import { encode } from "next-auth/jwt";
import { PANEL_SESSION_COOKIE } from "@/lib/auth/auth-options";
import { roleCacheKey } from "@/lib/auth/ghl-user-access";
import type { PanelIdentity } from "@/lib/auth/panel-identity";

type Times = { authTime?: number; checkedAt?: number };

/**
 * The cookie header next-auth would have set after a `ghl-sso` sign-in as this identity: the
 * handshake (`authTime`) and GHL's last word on the user (`checkedAt`) now, unless given.
 */
export async function panelCookie(identity: PanelIdentity & Times, maxAge = 3600): Promise<string> {
  const now = Date.now();
  const token = await encode({
    token: { authTime: now, checkedAt: now, ...identity },
    secret: process.env.NEXTAUTH_SECRET!,
    maxAge,
  });
  return `${PANEL_SESSION_COOKIE}=${token}`;
}

export const identity = (o: Partial<PanelIdentity> & { locationId: string; companyId: string }): PanelIdentity => ({
  userId: "u-1",
  role: "admin",
  userName: "Ana",
  email: "ana@example.com",
  agency: false,
  ...o,
});

/**
 * GHL's answer about this panel user, already in the role cache (as if the users API had been
 * asked a moment ago), for tests about something other than roles: panel-roles.test.ts asks the
 * GHL simulator for real. Seed it after any flush of the Redis database the app uses.
 */
export async function ghlSays(
  redis: Redis,
  who: PanelIdentity,
  access: { role: "admin" | "user"; locationIds?: string[]; restrictSubAccount?: boolean } = { role: "admin" },
): Promise<void> {
  const tenant = who.agency ? `company:${who.companyId}` : `location:${who.locationId}`;
  const granted = {
    status: "ok",
    type: who.agency ? "agency" : "account",
    role: access.role,
    locationIds: access.locationIds ?? [who.locationId],
    restrictSubAccount: access.restrictSubAccount ?? false,
  };
  await redis.set(roleCacheKey(tenant, who.userId), JSON.stringify(granted), "EX", 3600);
}
