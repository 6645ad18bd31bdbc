"use client";

import { useCallback, useEffect, useState } from "react";
import { MESSAGE_STATUSES, type MessageDirectionValue, type MessageStatusValue } from "@/lib/enum-schemas";

// The location's message log (direction, contact, number, status, error, time, text) with filters,
// and the GHL dead letters with a retry button.
type Row = {
  id: string;
  direction: MessageDirectionValue;
  status: MessageStatusValue;
  error: string | null;
  at: string;
  number: string | null;
  instanceId: string | null;
  contact: string | null;
  preview: string | null;
};
type Dead = {
  id: string;
  kind: string;
  messageId: string;
  failedReason: string;
  attempts: number;
  failedAt: number | null;
};
export type LogTexts = Record<
  "title" | "allNumbers" | "allStatuses" | "outbound" | "inbound" | "empty" | "dlTitle" | "retry" | "refresh",
  string
>;

export function MessagesLog({ t }: { t: LogTexts }) {
  const [rows, setRows] = useState<Row[]>([]);
  const [dead, setDead] = useState<Dead[]>([]);
  const [numbers, setNumbers] = useState<{ id: string; instanceId: string }[]>([]);
  const [instanceId, setInstanceId] = useState("");
  const [status, setStatus] = useState("");
  const load = useCallback(async () => {
    const q = new URLSearchParams({ ...(instanceId ? { instanceId } : {}), ...(status ? { status } : {}) });
    const [m, d, n] = await Promise.all([
      fetch(`/api/panel/messages?${q}`),
      fetch("/api/panel/dead-letters"),
      fetch("/api/instances"),
    ]);
    if (m.ok) setRows(((await m.json()) as { messages: Row[] }).messages);
    if (d.ok) setDead(((await d.json()) as { deadLetters: Dead[] }).deadLetters);
    if (n.ok) setNumbers(((await n.json()) as { instances: { id: string; instanceId: string }[] }).instances);
  }, [instanceId, status]);
  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), 10_000);
    return () => clearInterval(timer);
  }, [load]);
  return (
    <section className="mt-10 border-t pt-6" aria-label={t.title}>
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h2 className="text-lg font-medium">{t.title}</h2>
        <div className="flex flex-wrap gap-2 text-sm">
          <select
            aria-label={t.allNumbers}
            value={instanceId}
            onChange={(e) => setInstanceId(e.target.value)}
            className="rounded border border-slate-300 px-2 py-1"
          >
            <option value="">{t.allNumbers}</option>
            {numbers.map((n) => (
              <option key={n.id} value={n.id}>
                {n.instanceId}
              </option>
            ))}
          </select>
          <select
            aria-label={t.allStatuses}
            value={status}
            onChange={(e) => setStatus(e.target.value)}
            className="rounded border border-slate-300 px-2 py-1"
          >
            <option value="">{t.allStatuses}</option>
            {MESSAGE_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
          <button onClick={() => void load()} className="rounded border border-slate-300 px-2 py-1">
            {t.refresh}
          </button>
        </div>
      </div>
      {dead.length > 0 && (
        <div className="mt-3 rounded border border-red-200 bg-red-50 p-3 text-sm" data-testid="dead-letters">
          <p className="font-medium text-red-900">{t.dlTitle}</p>
          <ul className="mt-2 space-y-1">
            {dead.map((d) => (
              <li key={d.id} className="flex flex-wrap items-center justify-between gap-2">
                <span>
                  {d.kind} · {d.failedReason} ({d.attempts}×)
                </span>
                <button
                  className="rounded border border-red-300 bg-white px-2 py-0.5"
                  onClick={async () => {
                    await fetch(`/api/panel/dead-letters/${encodeURIComponent(d.id)}/retry`, {
                      method: "POST",
                      headers: { "content-type": "application/json" },
                    });
                    await load();
                  }}
                >
                  {t.retry}
                </button>
              </li>
            ))}
          </ul>
        </div>
      )}
      {/* Phone width (GHL's mobile app, 390 px): each row stacks as text, then status and time,
          then who and which number, so nothing scrolls out of sight; from 640 px up, a table. */}
      <div className="mt-3">
        <table className="block w-full text-left text-sm sm:table" data-testid="message-log">
          <tbody className="block divide-y sm:table-row-group">
            {rows.map((r) => (
              <tr key={r.id} className="flex flex-wrap items-baseline gap-x-3 py-2 sm:table-row sm:py-0 sm:align-top">
                <td
                  className="order-3 text-xs text-slate-500 sm:order-none sm:py-1.5 sm:pr-2 sm:text-sm"
                  data-testid="log-time"
                >
                  <time dateTime={r.at}>{new Date(r.at).toLocaleString()}</time>
                </td>
                <td className="order-4 text-xs text-slate-600 sm:order-none sm:py-1.5 sm:pr-2 sm:text-sm sm:text-slate-800">
                  {r.direction === "OUTBOUND" ? `→ ${t.outbound}` : `← ${t.inbound}`}
                </td>
                <td className="order-5 text-xs text-slate-600 sm:order-none sm:py-1.5 sm:pr-2 sm:text-sm sm:text-slate-800">
                  {r.contact}
                </td>
                <td className="order-6 text-xs text-slate-600 sm:order-none sm:py-1.5 sm:pr-2 sm:text-sm sm:text-slate-800">
                  {r.number}
                </td>
                <td className="order-2 font-medium sm:order-none sm:py-1.5 sm:pr-2" data-testid="log-status">
                  {r.status}
                  {r.error && (
                    <span className={`block font-normal ${r.status === "WAITING" ? "text-amber-700" : "text-red-700"}`}>
                      {r.error}
                    </span>
                  )}
                </td>
                <td
                  className="order-1 w-full break-words text-slate-800 sm:order-none sm:w-auto sm:py-1.5 sm:text-slate-600"
                  data-testid="log-text"
                >
                  {r.preview}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {rows.length === 0 && <p className="mt-2 text-sm text-slate-500">{t.empty}</p>}
      </div>
    </section>
  );
}
