"use client";

import { useCallback, useEffect, useState } from "react";
import { panelFetch } from "../panel-fetch";

// API keys of the location: create (shown once), list with prefix and last use, revoke.
type Key = { id: string; prefix: string; label: string; lastUsedAt: string | null; createdAt: string };
export type ApiKeysTexts = {
  title: string;
  help: string;
  label: string;
  create: string;
  revoke: string;
  confirmRevoke: string;
  shownOnce: string;
  never: string;
  lastUsed: string;
  docs: string;
};

export function ApiKeysPanel({ t }: { t: ApiKeysTexts }) {
  const [keys, setKeys] = useState<Key[]>([]);
  const [label, setLabel] = useState("");
  const [fresh, setFresh] = useState<string | null>(null);
  const load = useCallback(async () => {
    const r = await fetch("/api/panel/api-keys", { cache: "no-store" });
    if (r.ok) setKeys(((await r.json()) as { keys: Key[] }).keys);
  }, []);
  useEffect(() => void load(), [load]);
  return (
    <section className="mt-10 border-t pt-6" aria-label={t.title}>
      <h2 className="text-lg font-medium">{t.title}</h2>
      <p className="mt-1 text-sm text-slate-600">
        {t.help}{" "}
        <a className="text-emerald-700 underline" href="/api-docs" target="_blank" rel="noreferrer">
          {t.docs}
        </a>
      </p>
      <form
        className="mt-3 flex flex-wrap gap-2"
        onSubmit={async (e) => {
          e.preventDefault();
          const r = await panelFetch("/api/panel/api-keys", {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ label }),
          });
          if (r.ok) {
            setFresh(((await r.json()) as { key: string }).key);
            setLabel("");
            await load();
          }
        }}
      >
        <input
          required
          maxLength={64}
          value={label}
          onChange={(e) => setLabel(e.target.value)}
          placeholder={t.label}
          aria-label={t.label}
          className="min-w-0 flex-1 rounded border border-slate-300 px-2 py-1.5 text-sm"
        />
        <button className="rounded border border-slate-300 px-3 py-1.5 text-sm">{t.create}</button>
      </form>
      {fresh && (
        <p className="mt-3 rounded bg-amber-50 p-2 text-sm text-amber-900">
          {t.shownOnce}{" "}
          <code className="break-all font-mono" data-testid="new-api-key">
            {fresh}
          </code>
        </p>
      )}
      <ul className="mt-3 divide-y rounded border border-slate-200 bg-white text-sm">
        {keys.map((k) => (
          <li key={k.id} className="flex flex-wrap items-center justify-between gap-2 p-2">
            <span>
              <strong>{k.label}</strong> <code className="text-slate-500">gwk_{k.prefix}_…</code>
            </span>
            <span className="text-slate-500">
              {t.lastUsed}: {k.lastUsedAt ? new Date(k.lastUsedAt).toLocaleString() : t.never}
            </span>
            <button
              className="rounded border border-red-300 px-2 py-1 text-red-700"
              onClick={async () => {
                if (!confirm(t.confirmRevoke.replace("{label}", k.label))) return;
                await panelFetch(`/api/panel/api-keys/${k.id}`, {
                  method: "DELETE",
                  headers: { "content-type": "application/json" },
                });
                await load();
              }}
            >
              {t.revoke}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
