"use client";

import { useCallback, useEffect, useState } from "react";
import type { OpenAlert } from "@/lib/alerts/number-alerts";
import type { AlertsMessages } from "@/lib/i18n/alerts-messages";
import { panelFetch } from "../panel-fetch";

// The location's alerts not yet acknowledged (docs/architecture.md#number-alerts): shown above
// everything until an admin dismisses them. Read on first paint and every 10 s: alerts are rare,
// and a poll needs no second event stream beside the numbers panel's.

const POLL_MS = 10_000;

export function AlertsBanner({ t, admin }: { t: AlertsMessages; admin: boolean }) {
  const [alerts, setAlerts] = useState<OpenAlert[]>([]);
  const load = useCallback(async () => {
    const r = await fetch("/api/panel/alerts", { cache: "no-store" }).catch(() => null);
    if (r?.ok) setAlerts(((await r.json()) as { alerts: OpenAlert[] }).alerts);
  }, []);
  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), POLL_MS);
    return () => clearInterval(timer);
  }, [load]);
  if (!alerts.length) return null;
  const dismiss = async (id: string) => {
    const r = await panelFetch(`/api/panel/alerts/${encodeURIComponent(id)}/acknowledge`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    if (r.ok) setAlerts((xs) => xs.filter((a) => a.id !== id));
  };
  return (
    <section
      role="alert"
      aria-label={t["alerts.title"]}
      className="mt-4 rounded border border-red-300 bg-red-50 p-3"
      data-testid="alerts-banner"
    >
      <h2 className="text-sm font-semibold text-red-900">{t["alerts.title"]}</h2>
      <ul className="mt-2 grid gap-2">
        {alerts.map((a) => (
          <li
            key={a.id}
            className="flex flex-wrap items-start justify-between gap-2 text-sm text-red-900"
            data-testid="alert"
            data-status={a.status}
          >
            <span>
              <strong>
                {(t[`alerts.status.${a.status}` as keyof AlertsMessages] ?? a.status).replace("{number}", a.number)}
              </strong>
              {": "}
              {a.reason}{" "}
              <time className="text-xs text-red-700" dateTime={a.createdAt}>
                {new Date(a.createdAt).toLocaleString()}
              </time>
            </span>
            {admin ? (
              <button
                type="button"
                onClick={() => void dismiss(a.id)}
                className="rounded border border-red-300 px-2 py-1 text-xs hover:bg-red-100"
              >
                {t["alerts.acknowledge"]}
              </button>
            ) : (
              <span className="text-xs text-red-700">{t["alerts.adminOnly"]}</span>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
