"use client";

import { useCallback, useEffect, useState } from "react";
import type { HistoryImportView } from "@/lib/api/history-api";
import type { NumbersMessages } from "@/lib/i18n/numbers-messages";
import { panelFetch } from "../panel-fetch";

// One number's import of past conversations: the setting (off, or the last N days; admins change
// it) and, while an import runs, its progress, read again every 3 s (GET /api/instances/:id/history).
const CHOICES = [0, 7, 30, 90];

export function HistoryImport({ id, t, admin }: { id: string; t: NumbersMessages; admin: boolean }) {
  const [v, setV] = useState<HistoryImportView | null>(null);
  const base = `/api/instances/${id}/history`;
  const load = useCallback(async () => {
    const r = await fetch(base, { cache: "no-store" });
    if (r.ok) setV((await r.json()) as HistoryImportView);
  }, [base]);
  const running = v?.progress?.state === "SYNCING" || v?.progress?.state === "IMPORTING";
  useEffect(() => {
    void load();
  }, [load]);
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => void load(), 3000);
    return () => clearInterval(timer);
  }, [running, load]);
  if (!v) return null;
  const p = v.progress;
  const send = async (init: RequestInit) => {
    const r = await panelFetch(base, { ...init, headers: { "content-type": "application/json" } });
    if (r.ok) setV((await r.json()) as HistoryImportView);
  };
  const choices = CHOICES.includes(v.days) ? CHOICES : [...CHOICES, v.days].sort((a, b) => a - b);
  return (
    <div className="mt-3 text-sm text-slate-700" data-testid="history-import">
      <label className="flex flex-wrap items-center gap-2">
        <span>{t["hist.title"]}</span>
        <select
          disabled={!admin}
          value={v.days}
          onChange={(e) => void send({ method: "PUT", body: JSON.stringify({ days: Number(e.target.value) }) })}
          className="rounded border border-slate-300 px-2 py-1"
          data-testid="history-days"
        >
          {choices.map((d) => (
            <option key={d} value={d}>
              {d === 0 ? t["hist.off"] : t["hist.days"].replace("{n}", String(d))}
            </option>
          ))}
        </select>
        <span className="text-xs text-slate-500">{t["hist.help"]}</span>
      </label>
      {p && (
        <div className="mt-2">
          <p data-testid="history-progress">
            {t[`hist.${p.state}`]} ·{" "}
            {t["hist.progress"]
              .replace("{chats}", String(p.chats.done))
              .replace("{chatsTotal}", String(p.chats.total))
              .replace("{done}", String(p.messages.done))
              .replace("{total}", String(p.messages.total))
              .replace("{pct}", String(p.percent))}
          </p>
          <div className="mt-1 h-1.5 w-full rounded bg-slate-100">
            <div className="h-1.5 rounded bg-emerald-500" style={{ width: `${p.percent}%` }} />
          </div>
          {running && admin && (
            <button
              type="button"
              onClick={() => void send({ method: "DELETE" })}
              className="mt-2 rounded border border-slate-300 px-2 py-1 text-xs"
            >
              {t["hist.cancel"]}
            </button>
          )}
        </div>
      )}
    </div>
  );
}
