import { cookies } from "next/headers";
import { PANEL_SESSION_COOKIE } from "./auth-options";
import { panelSessionFrom, type PanelSessionState } from "./panel-session";

/** The panel session of the current Server Component render. */
export async function currentPanelSession(): Promise<PanelSessionState> {
  return panelSessionFrom((await cookies()).get(PANEL_SESSION_COOKIE)?.value);
}
