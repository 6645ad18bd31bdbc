import { cookies } from "next/headers";
import { PANEL_SESSION_COOKIE } from "./auth-options";
import { type PanelSessionState, panelSessionFrom } from "./panel-session";

/** The panel session of the current Server Component render. */
export async function currentPanelSession(): Promise<PanelSessionState> {
  return panelSessionFrom((await cookies()).get(PANEL_SESSION_COOKIE)?.value);
}
