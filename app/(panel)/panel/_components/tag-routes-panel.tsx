"use client";

import { useEffect, useState } from "react";
import type { NumbersMessages } from "@/lib/i18n/numbers-messages";
import type { TagRoute } from "@/lib/routing/tag-routes";
import { panelFetch } from "../panel-fetch";

// The location's tag → number table (GET/PUT /api/panel/tag-routes, lib/routing/tag-routes.ts):
// contacts with a GHL tag of the table are written to from that tag's number; first row wins.
type Num = { id: string; instanceId: string };

export function TagRoutesPanel({ t, readOnly }: { t: NumbersMessages; readOnly: boolean }) {
  const [rows, setRows] = useState<TagRoute[] | null>(null);
  const [numbers, setNumbers] = useState<Num[]>([]);
  const [note, setNote] = useState<string | null>(null);
  useEffect(() => {
    void fetch("/api/panel/tag-routes").then(
      async (r) => r.ok && setRows(((await r.json()) as { routes: TagRoute[] }).routes),
    );
    void fetch("/api/instances").then(
      async (r) => r.ok && setNumbers(((await r.json()) as { instances: Num[] }).instances),
    );
  }, []);
  if (!rows) return null;
  const set = (i: number, patch: Partial<TagRoute>) => setRows(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  return (
    <section className="mt-10 border-t pt-6" aria-label={t["tags.title"]} data-testid="tag-routes">
      <h2 className="text-lg font-medium">{t["tags.title"]}</h2>
      <p className="mt-1 text-sm text-slate-600">{t["tags.help"]}</p>
      <form
        className="mt-3 grid gap-2 text-sm"
        onSubmit={async (e) => {
          e.preventDefault();
          const r = await panelFetch("/api/panel/tag-routes", {
            method: "PUT",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ routes: rows }),
          });
          const body = (await r.json().catch(() => ({}))) as { error?: { message?: string } };
          setNote(r.ok ? t["tags.saved"] : (body.error?.message ?? `HTTP ${r.status}`));
        }}
      >
        {rows.map((r, i) => (
          <div key={i} className="flex flex-wrap items-center gap-2">
            <input
              aria-label={t["tags.tag"]}
              required
              maxLength={100}
              value={r.tag}
              onChange={(e) => set(i, { tag: e.target.value })}
              placeholder={t["tags.tag"]}
              className="min-w-0 flex-1 rounded border border-slate-300 px-2 py-1.5"
            />
            <select
              aria-label={t["tags.number"]}
              value={r.instanceId}
              onChange={(e) => set(i, { instanceId: e.target.value })}
              className="rounded border border-slate-300 px-2 py-1.5"
            >
              {numbers.map((n) => (
                <option key={n.id} value={n.id}>
                  {n.instanceId}
                </option>
              ))}
            </select>
            <button
              type="button"
              className="rounded border border-slate-300 px-2 py-1"
              onClick={() => setRows(rows.filter((_, j) => j !== i))}
            >
              {t["tags.remove"]}
            </button>
          </div>
        ))}
        <div className="flex items-center gap-3">
          <button
            type="button"
            className="rounded border border-slate-300 px-3 py-1.5 disabled:opacity-50"
            disabled={readOnly || !numbers.length}
            onClick={() => setRows([...rows, { tag: "", instanceId: numbers[0]?.id ?? "" }])}
          >
            {t["tags.add"]}
          </button>
          <button className="rounded border border-slate-300 px-3 py-1.5 disabled:opacity-50" disabled={readOnly}>
            {t["tags.save"]}
          </button>
          {note && (
            <span className="text-slate-700" role="status">
              {note}
            </span>
          )}
        </div>
      </form>
    </section>
  );
}
