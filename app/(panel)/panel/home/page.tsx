import { isAdminAt, userAccess } from "@/lib/auth/ghl-user-access";
import { switchableLocations } from "@/lib/auth/panel-identity";
import { currentPanelSession } from "@/lib/auth/panel-page-session";
import { CALLING_CODES } from "@/lib/contacts/phone";
import { db } from "@/lib/db";
import { alertsMessages } from "@/lib/i18n/alerts-messages";
import { numbersMessages } from "@/lib/i18n/numbers-messages";
import { requestMessages } from "@/lib/i18n/request-locale";
import { AlertsBanner } from "../_components/alerts-banner";
import { ApiKeysPanel } from "../_components/api-keys-panel";
import { MessagesLog } from "../_components/messages-log";
import { NumbersPanel } from "../_components/numbers-panel";
import { SettingsPanel } from "../_components/settings-panel";
import { TagRoutesPanel } from "../_components/tag-routes-panel";
import { LocationSwitcher } from "./location-switcher";

export const dynamic = "force-dynamic";

type Search = Promise<{ lang?: string }>;

// The panel shell: the session's location, a switcher for agency users, and its numbers (live).
// Controls only an admin may use are hidden or disabled for other users (the routes refuse them
// anyway); while GHL does not say, they are shown and the route decides.
export default async function PanelHome({ searchParams }: { searchParams: Search }) {
  const { lang } = await searchParams;
  const { locale, t } = await requestMessages(lang);
  const s = await currentPanelSession();
  if (!s.ok) {
    const msg =
      s.reason === "not_installed"
        ? t["err.not_installed"]
        : s.reason === "revoked"
          ? t["err.no_access"]
          : t["err.expired"];
    return (
      <main lang={locale} className="mx-auto max-w-3xl p-6">
        <section role="alert" className="rounded border border-amber-300 bg-amber-50 p-4">
          <h1 className="font-semibold text-amber-900">{t["err.title"]}</h1>
          <p className="mt-2 text-amber-900" data-reason={s.reason}>
            {msg}
          </p>
        </section>
      </main>
    );
  }
  const { identity } = s;
  const access = await userAccess(identity);
  const admin = access.status === "unavailable" || (access.status === "ok" && isAdminAt(access, identity.locationId));
  const locations = await switchableLocations(db(), identity, access);
  const current = locations.find((l) => l.id === identity.locationId);
  return (
    <main
      lang={locale}
      className="mx-auto max-w-3xl p-6"
      data-location-id={identity.locationId}
      data-admin={admin ? "true" : "false"}
    >
      <header className="flex flex-wrap items-center justify-between gap-3 border-b pb-4">
        <div>
          <p className="text-xs uppercase tracking-wide text-slate-500">{t["panel.location"]}</p>
          <h1 className="text-xl font-semibold" data-testid="location-name">
            {current?.name ?? identity.locationId}
          </h1>
        </div>
        {identity.agency && locations.length > 1 && (
          <LocationSwitcher
            label={t["panel.switch"]}
            current={identity.locationId}
            locations={locations.map((l) => ({ id: l.id, name: l.name ?? l.id }))}
          />
        )}
      </header>
      <AlertsBanner t={alertsMessages(locale)} admin={admin} />
      <section className="mt-6">
        <h2 className="text-lg font-medium">{t["panel.title"]}</h2>
        {!admin && (
          <p className="mt-2 text-sm text-slate-500" data-testid="admin-only-note">
            {t["panel.adminOnly"]}
          </p>
        )}
        <NumbersPanel
          t={numbersMessages(locale)}
          emptyTitle={t["panel.empty.title"]}
          emptyBody={t["panel.empty.body"]}
          admin={admin}
          statsT={alertsMessages(locale)}
        />
      </section>
      <MessagesLog t={logTexts(numbersMessages(locale))} />
      <SettingsPanel
        t={settingsTexts(numbersMessages(locale))}
        countries={Object.keys(CALLING_CODES).sort()}
        readOnly={!admin}
      />
      <TagRoutesPanel t={numbersMessages(locale)} readOnly={!admin} />
      {admin && <ApiKeysPanel t={keysTexts(numbersMessages(locale))} />}
      <p className="mt-6 text-xs text-slate-400">
        {t["panel.signedInAs"]} {identity.userName ?? identity.email ?? identity.userId}
      </p>
    </main>
  );
}

function keysTexts(n: ReturnType<typeof numbersMessages>) {
  return {
    title: n["keys.title"],
    help: n["keys.help"],
    label: n["keys.label"],
    create: n["keys.create"],
    revoke: n["keys.revoke"],
    confirmRevoke: n["keys.confirmRevoke"],
    shownOnce: n["keys.shownOnce"],
    never: n["keys.never"],
    lastUsed: n["keys.lastUsed"],
    docs: n["keys.docs"],
  };
}

function logTexts(n: ReturnType<typeof numbersMessages>) {
  return {
    title: n["log.title"],
    allNumbers: n["log.allNumbers"],
    allStatuses: n["log.allStatuses"],
    outbound: n["log.outbound"],
    inbound: n["log.inbound"],
    empty: n["log.empty"],
    dlTitle: n["log.dlTitle"],
    retry: n["log.retry"],
    refresh: n["log.refresh"],
  };
}

function settingsTexts(n: ReturnType<typeof numbersMessages>) {
  return {
    title: n["set.title"],
    country: n["set.country"],
    none: n["set.none"],
    mode: n["set.mode"],
    modeSms: n["set.modeSms"],
    modeCustom: n["set.modeCustom"],
    maxWait: n["set.maxWait"],
    warmup: n["set.warmup"],
    typing: n["set.typing"],
    routeAround: n["set.routeAround"],
    save: n["set.save"],
    saved: n["set.saved"],
  };
}
