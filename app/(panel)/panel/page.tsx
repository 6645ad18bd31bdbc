import { env } from "@/lib/env";
import { frameAncestorSources } from "@/lib/http/frame-policy";
import { requestMessages } from "@/lib/i18n/request-locale";
import { SsoHandshake } from "./sso-handshake";

export const dynamic = "force-dynamic";

type Search = Promise<{ lang?: string }>;

// GHL frames this page. It asks the parent frame for the user's encrypted context, signs in with it,
// and moves on to the panel itself. Every load re-does the handshake, so a session left from
// another location (GHL's location switcher reuses the frame) never shows the wrong tenant.
export default async function PanelEntry({ searchParams }: { searchParams: Search }) {
  const { lang } = await searchParams;
  const { locale, t } = await requestMessages(lang);
  const texts = {
    connecting: t["panel.connecting"],
    title: t["err.title"],
    not_framed: t["err.not_framed"],
    not_installed: t["err.not_installed"],
    invalid_payload: t["err.invalid_payload"],
    no_location: t["err.no_location"],
    timeout: t["err.timeout"],
    expired: t["err.expired"],
    no_access: t["err.no_access"],
    roles_unavailable: t["err.roles_unavailable"],
  };
  return (
    <main lang={locale} className="mx-auto max-w-3xl p-6">
      <SsoHandshake
        texts={texts}
        next={`/panel/home${lang ? `?lang=${encodeURIComponent(lang)}` : ""}`}
        allowedOrigins={frameAncestorSources(env().PANEL_FRAME_ANCESTORS)}
      />
    </main>
  );
}
