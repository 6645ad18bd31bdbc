"use client";

import { useEffect, useState } from "react";
import type { PanelSettings } from "@/lib/tenants/settings";
import { panelFetch } from "../panel-fetch";

// The location's sending settings: default country for national numbers, GHL provider mode, how
// long a message may wait for an offline number, the warm-up governor's percent, typing simulation,
// routing around a number in trouble (lib/routing/).
type S = Pick<
  PanelSettings,
  "defaultCountry" | "providerMode" | "maxWaitMinutes" | "warmupPercent" | "typingSimulation" | "routeAroundTrouble"
>;
export type SettingsTexts = Record<
  | "title"
  | "country"
  | "none"
  | "mode"
  | "modeSms"
  | "modeCustom"
  | "maxWait"
  | "warmup"
  | "typing"
  | "routeAround"
  | "save"
  | "saved",
  string
>;

// readOnly: not an admin of this location (the route refuses a change anyway).
export function SettingsPanel({
  t,
  countries,
  readOnly,
}: {
  t: SettingsTexts;
  countries: string[];
  readOnly: boolean;
}) {
  const [s, setS] = useState<S | null>(null);
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    void fetch("/api/panel/settings").then(async (r) => r.ok && setS((await r.json()) as S));
  }, []);
  if (!s) return null;
  return (
    <section className="mt-10 border-t pt-6" aria-label={t.title}>
      <h2 className="text-lg font-medium">{t.title}</h2>
      <form
        className="mt-3 grid gap-3 text-sm sm:grid-cols-2"
        onSubmit={async (e) => {
          e.preventDefault();
          const r = await panelFetch("/api/panel/settings", {
            method: "PATCH",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(s),
          });
          setSaved(r.ok);
        }}
      >
        <label>
          {t.country}
          <select
            value={s.defaultCountry ?? ""}
            onChange={(e) => setS({ ...s, defaultCountry: e.target.value || null })}
            className="mt-1 block w-full rounded border border-slate-300 px-2 py-1.5"
          >
            <option value="">{t.none}</option>
            {countries.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t.mode}
          <select
            value={s.providerMode}
            onChange={(e) => setS({ ...s, providerMode: e.target.value as S["providerMode"] })}
            className="mt-1 block w-full rounded border border-slate-300 px-2 py-1.5"
          >
            <option value="sms">{t.modeSms}</option>
            <option value="custom">{t.modeCustom}</option>
          </select>
        </label>
        <label>
          {t.maxWait}
          <input
            type="number"
            min={1}
            max={10080}
            value={s.maxWaitMinutes}
            onChange={(e) => setS({ ...s, maxWaitMinutes: Number(e.target.value) })}
            className="mt-1 block w-full rounded border border-slate-300 px-2 py-1.5"
          />
        </label>
        <label>
          {t.warmup}
          <input
            type="number"
            min={25}
            max={200}
            value={s.warmupPercent}
            onChange={(e) => setS({ ...s, warmupPercent: Number(e.target.value) })}
            className="mt-1 block w-full rounded border border-slate-300 px-2 py-1.5"
          />
        </label>
        <label className="flex items-center gap-2 sm:mt-6">
          <input
            type="checkbox"
            checked={s.typingSimulation}
            onChange={(e) => setS({ ...s, typingSimulation: e.target.checked })}
          />{" "}
          {t.typing}
        </label>
        <label className="flex items-center gap-2 sm:col-span-2">
          <input
            type="checkbox"
            data-testid="route-around"
            checked={s.routeAroundTrouble}
            onChange={(e) => setS({ ...s, routeAroundTrouble: e.target.checked })}
          />{" "}
          {t.routeAround}
        </label>
        <div className="flex items-center gap-3">
          <button className="rounded border border-slate-300 px-3 py-1.5 disabled:opacity-50" disabled={readOnly}>
            {t.save}
          </button>
          {saved && <span className="text-emerald-700">{t.saved}</span>}
        </div>
      </form>
    </section>
  );
}
