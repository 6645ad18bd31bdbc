import type { Env } from "../env";

// This app's Marketplace id, as GHL writes it in `appId` of webhooks and expects it in
// `/oauth/installedLocations`. GHL issues client ids as `<appId>-<suffix>` (docs/ghl.md#oauth);
// GHL_APP_ID overrides the derivation should a client id ever not follow that shape.
export function ghlAppId(e: Pick<Env, "GHL_APP_ID" | "GHL_CLIENT_ID">): string {
  return e.GHL_APP_ID || e.GHL_CLIENT_ID.split("-")[0];
}
