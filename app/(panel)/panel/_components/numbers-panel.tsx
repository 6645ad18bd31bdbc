"use client";

import QRCode from "qrcode";
import { useCallback, useEffect, useMemo, useState } from "react";
import type { InstanceView } from "@/lib/api/instances-api";
import type { InstanceStatusValue as Status } from "@/lib/enum-schemas";
import { parseLiveEvent } from "@/lib/events/live-events";
import type { AlertsMessages } from "@/lib/i18n/alerts-messages";
import type { NumbersMessages } from "@/lib/i18n/numbers-messages";
import { panelFetch } from "../panel-fetch";
import { HealthBadge } from "./health-badge";
import { HistoryImport } from "./history-import";
import { NumberStatsRow } from "./number-stats";

// The location's WhatsApp numbers, live: the list (/api/instances) already carries the QR or
// pairing code waiting now, the stream (/api/events) sends it again on every (re)connect and then
// each new one, with statuses; actions go to /api/instances/… with the panel session cookie.

type Instance = Pick<
  InstanceView,
  | "id"
  | "instanceId"
  | "status"
  | "phone"
  | "phoneAlias"
  | "lastError"
  | "desiredState"
  | "linking"
  | "groups"
  | "stats"
  | "health"
>;
type Live = { qr?: { text: string; dataUrl: string; expiresAt: number }; pairingCode?: string; qrWithheld?: boolean };

const badge: Record<Status, string> = {
  ONLINE: "bg-emerald-100 text-emerald-800",
  QR: "bg-amber-100 text-amber-800",
  CONNECTING: "bg-sky-100 text-sky-800",
  RECONNECTING: "bg-sky-100 text-sky-800",
  OFFLINE: "bg-slate-200 text-slate-700",
  LOGGED_OUT: "bg-orange-100 text-orange-800",
  FAILED: "bg-red-100 text-red-800",
  BANNED: "bg-red-200 text-red-900",
};

export function NumbersPanel({
  t,
  emptyTitle,
  emptyBody,
  admin,
  statsT,
}: {
  t: NumbersMessages;
  emptyTitle: string;
  emptyBody: string;
  admin: boolean;
  statsT?: AlertsMessages;
}) {
  const [items, setItems] = useState<Instance[] | null>(null);
  const [defaultId, setDefaultId] = useState<string | null>(null);
  const [live, setLive] = useState<Record<string, Live>>({});
  const [connected, setConnected] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [adding, setAdding] = useState(false);

  const showQr = useCallback(async (instanceId: string, qr: string, expiresAt: string | undefined | null) => {
    const dataUrl = await QRCode.toDataURL(qr, { margin: 1, width: 264 });
    const exp = Date.parse(expiresAt ?? "") || Date.now() + 20_000;
    // the list and the stream may both bring codes: never replace a newer one with an older one
    setLive((l) =>
      (l[instanceId]?.qr?.expiresAt ?? 0) > exp
        ? l
        : { ...l, [instanceId]: { ...l[instanceId], qr: { text: qr, dataUrl, expiresAt: exp } } },
    );
  }, []);

  const load = useCallback(async () => {
    const r = await fetch("/api/instances", { cache: "no-store" });
    if (!r.ok) return setError(await errorText(r));
    const body = (await r.json()) as { instances: Instance[]; defaultInstanceId?: string | null };
    setItems(body.instances);
    setDefaultId(body.defaultInstanceId ?? null);
    for (const i of body.instances) {
      const k = i.linking;
      if (!k) continue;
      if (k.withheld) setLive((l) => ({ ...l, [i.id]: { ...l[i.id], qrWithheld: true } }));
      if (k.qr) void showQr(i.id, k.qr, k.qrExpiresAt);
      if (k.pairingCode) setLive((l) => ({ ...l, [i.id]: { ...l[i.id], pairingCode: k.pairingCode! } }));
    }
  }, [showQr]);

  useEffect(() => {
    void load();
    const es = new EventSource("/api/events");
    es.onopen = () => {
      setConnected(true);
      void load(); // catch up on anything missed while disconnected
    };
    es.onerror = () => setConnected(false);
    es.onmessage = async (m) => {
      // parsed with the schema the worker publishes by (lib/events/live-events.ts); an event this
      // panel does not know (a newer server) is skipped
      const ev = parseLiveEvent(m.data);
      if (!ev) return;
      const id = ev.instanceId;
      if ("withheld" in ev) {
        if (ev.type === "instance.qr") setLive((l) => ({ ...l, [id]: { ...l[id], qrWithheld: true } }));
      } else if (ev.type === "instance.status") {
        setItems(
          (xs) =>
            xs?.map((i) =>
              i.id === id
                ? { ...i, status: ev.status, phone: ev.phone ?? i.phone, lastError: ev.lastError ?? null }
                : i,
            ) ?? xs,
        );
        if (ev.status !== "QR") setLive((l) => ({ ...l, [id]: {} }));
        if (!items?.some((i) => i.id === id)) void load();
      } else if (ev.type === "instance.qr") {
        await showQr(id, ev.qr, ev.expiresAt);
      } else if (ev.type === "instance.pairing-code") {
        setLive((l) => ({ ...l, [id]: { ...l[id], pairingCode: ev.code } }));
      }
    };
    return () => es.close();
    // load and showQr are the only inputs; the stream reopens when either changes
  }, [load, showQr]);

  const act = useCallback(
    async (path: string, init: RequestInit = { method: "POST" }) => {
      setError(null);
      const r = await panelFetch(path, {
        ...init,
        headers: { "content-type": "application/json", ...(init.headers ?? {}) },
      });
      if (!r.ok) setError(t["error.generic"].replace("{m}", await errorText(r)));
      await load();
      return r.ok;
    },
    [load, t],
  );

  return (
    <section aria-label={t.add} className="mt-6">
      <div className="flex items-center justify-between gap-2">
        <span className={`text-xs ${connected ? "text-emerald-700" : "text-slate-500"}`} data-testid="live-indicator">
          {connected ? `● ${t.live}` : t.reconnectingLive}
        </span>
        {!adding && admin && (
          <button
            className="rounded bg-emerald-600 px-3 py-2 text-sm font-medium text-white hover:bg-emerald-700"
            onClick={() => setAdding(true)}
          >
            {t.add}
          </button>
        )}
      </div>
      {error && (
        <p role="alert" className="mt-3 rounded bg-red-50 p-2 text-sm text-red-800">
          {error}
        </p>
      )}
      {adding && (
        <AddForm
          t={t}
          onCancel={() => setAdding(false)}
          onCreate={async (name, alias) =>
            (await act("/api/instances", {
              method: "POST",
              body: JSON.stringify({ instanceId: name, phoneAlias: alias || undefined }),
            })) && setAdding(false)
          }
        />
      )}
      {items && items.length === 0 && !adding && (
        <div className="mt-6 rounded-lg border border-dashed border-slate-300 bg-white p-6 text-center">
          <h2 className="font-medium">{emptyTitle}</h2>
          <p className="mt-1 text-sm text-slate-600">{emptyBody}</p>
        </div>
      )}
      <ul className="mt-4 grid gap-4">
        {items?.map((i) => (
          <InstanceCard
            key={i.id}
            i={i}
            live={live[i.id] ?? {}}
            t={t}
            isDefault={defaultId === i.id}
            act={act}
            admin={admin}
            statsT={statsT}
          />
        ))}
      </ul>
    </section>
  );
}

function AddForm({
  t,
  onCreate,
  onCancel,
}: {
  t: NumbersMessages;
  onCreate: (name: string, alias: string) => void;
  onCancel: () => void;
}) {
  const [name, setName] = useState("");
  const [alias, setAlias] = useState("");
  return (
    <form
      className="mt-4 grid gap-3 rounded-lg border border-slate-200 bg-white p-4 sm:grid-cols-[1fr_1fr_auto]"
      onSubmit={(e) => {
        e.preventDefault();
        onCreate(name.trim(), alias.trim());
      }}
    >
      <label className="text-sm">
        {t.name}
        <input
          required
          pattern="[a-z0-9][a-z0-9_\-]{0,31}"
          value={name}
          onChange={(e) => setName(e.target.value.toLowerCase())}
          placeholder={t.namePlaceholder}
          className="mt-1 w-full rounded border border-slate-300 px-2 py-1.5"
        />
      </label>
      <label className="text-sm">
        {t.alias}
        <input
          value={alias}
          onChange={(e) => setAlias(e.target.value)}
          placeholder={t.aliasPlaceholder}
          maxLength={64}
          className="mt-1 w-full rounded border border-slate-300 px-2 py-1.5"
        />
      </label>
      <div className="flex items-end gap-2">
        <button type="submit" className="rounded bg-emerald-600 px-3 py-2 text-sm font-medium text-white">
          {t.create}
        </button>
        <button type="button" onClick={onCancel} className="rounded border border-slate-300 px-3 py-2 text-sm">
          {t.cancel}
        </button>
      </div>
    </form>
  );
}

function InstanceCard({
  i,
  live,
  t,
  isDefault,
  act,
  admin,
  statsT,
}: {
  i: Instance;
  live: Live;
  t: NumbersMessages;
  isDefault: boolean;
  act: (p: string, init?: RequestInit) => Promise<boolean>;
  admin: boolean;
  statsT?: AlertsMessages;
}) {
  const [pairing, setPairing] = useState(false);
  const [phone, setPhone] = useState("");
  const base = `/api/instances/${i.id}`;
  const label = i.phoneAlias ? `${i.instanceId} · ${i.phoneAlias}` : i.instanceId;
  const needsLink = i.status === "QR" || i.status === "LOGGED_OUT" || (i.status === "OFFLINE" && !i.phone);
  return (
    <li className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm" data-testid={`instance-${i.instanceId}`}>
      <div className="flex flex-wrap items-center justify-between gap-2">
        <div>
          <h3 className="font-medium">{label}</h3>
          {i.phone && (
            <p className="text-sm text-slate-600">
              {t.phone}: <span data-testid="phone">{i.phone}</span>
            </p>
          )}
          {isDefault && <p className="text-xs text-emerald-700">{t.isDefault}</p>}
        </div>
        <span className={`rounded-full px-2.5 py-1 text-xs font-medium ${badge[i.status]}`} data-testid="status">
          {t[`status.${i.status}`]}
        </span>
      </div>
      <HealthBadge health={i.health} t={t} />
      {i.lastError && i.status !== "ONLINE" && (
        <p className="mt-2 text-sm text-slate-700">
          {t.lastError}: {i.lastError}
        </p>
      )}
      {i.stats && statsT && <NumberStatsRow s={i.stats} t={statsT} />}
      {i.status === "QR" &&
        (live.qrWithheld && !live.qr ? (
          <p className="mt-3 text-sm text-slate-700" data-testid="qr-admin-only">
            {t.qrAdminOnly}
          </p>
        ) : (
          <QrBox live={live} t={t} />
        ))}
      {live.pairingCode && i.status !== "ONLINE" && (
        <p className="mt-3 text-sm">
          {t.pairingCodeIs}{" "}
          <strong className="font-mono text-lg tracking-widest" data-testid="pairing-code">
            {live.pairingCode}
          </strong>
        </p>
      )}
      {pairing && (
        <form
          className="mt-3 flex flex-wrap gap-2"
          onSubmit={async (e) => {
            e.preventDefault();
            await act(`${base}/pairing-code`, { method: "POST", body: JSON.stringify({ phone }) });
          }}
        >
          <input
            required
            value={phone}
            onChange={(e) => setPhone(e.target.value)}
            placeholder={t.pairingPhone}
            inputMode="tel"
            className="min-w-0 flex-1 rounded border border-slate-300 px-2 py-1.5 text-sm"
          />
          <button className="rounded border border-slate-300 px-3 py-1.5 text-sm">{t.getCode}</button>
        </form>
      )}
      <label className="mt-3 flex items-start gap-2 text-sm" title={t.groupsHelp}>
        <input
          type="checkbox"
          className="mt-0.5"
          data-testid="groups-switch"
          checked={i.groups}
          disabled={!admin}
          onChange={(e) =>
            void act(`${base}/settings`, { method: "PATCH", body: JSON.stringify({ groups: e.target.checked }) })
          }
        />
        <span>
          {t.groups}
          <span className="block text-xs text-slate-500">{t.groupsHelp}</span>
        </span>
      </label>
      <HistoryImport id={i.id} t={t} admin={admin} />
      <div className="mt-3 flex flex-wrap gap-2 text-sm">
        {needsLink && i.status !== "QR" && <Btn onClick={() => act(`${base}/start`)}>{t.newQr}</Btn>}
        {i.status === "QR" && !pairing && admin && <Btn onClick={() => setPairing(true)}>{t.usePairing}</Btn>}
        {i.phone && i.status !== "ONLINE" && i.desiredState === "STOPPED" && (
          <Btn onClick={() => act(`${base}/start`)}>{t.start}</Btn>
        )}
        {i.phone && <Btn onClick={() => act(`${base}/restart`)}>{t.reconnect}</Btn>}
        {i.phone && admin && (
          <Btn onClick={() => confirm(t.confirmLogout.replace("{name}", i.instanceId)) && act(`${base}/logout`)}>
            {t.logout}
          </Btn>
        )}
        {!isDefault && admin && <Btn onClick={() => act(`${base}/default`)}>{t.makeDefault}</Btn>}
        {admin && (
          <Btn
            danger
            onClick={() => confirm(t.confirmDelete.replace("{name}", i.instanceId)) && act(base, { method: "DELETE" })}
          >
            {t.delete}
          </Btn>
        )}
      </div>
    </li>
  );
}

function QrBox({ live, t }: { live: Live; t: NumbersMessages }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const secs = useMemo(() => (live.qr ? Math.max(0, Math.round((live.qr.expiresAt - now) / 1000)) : 0), [live.qr, now]);
  return (
    <div className="mt-3 flex flex-col items-start gap-2 sm:flex-row">
      {live.qr ? (
        // a data: URL; next/image would only copy it
        <img
          src={live.qr.dataUrl}
          alt={t.scanTitle}
          width={264}
          height={264}
          data-testid="qr"
          data-qr={live.qr.text}
          className="rounded border border-slate-200"
        />
      ) : (
        <div className="flex h-[264px] w-[264px] items-center justify-center rounded border border-dashed border-slate-300 text-sm text-slate-500">
          {t.waitingQr}
        </div>
      )}
      <div className="max-w-xs text-sm text-slate-700">
        <p className="font-medium">{t.scanTitle}</p>
        <p className="mt-1">{t.scanHelp}</p>
        {live.qr && (
          <p className="mt-2 text-xs text-slate-500" data-testid="qr-countdown">
            {t.qrRefreshIn.replace("{s}", String(secs))}
          </p>
        )}
      </div>
    </div>
  );
}

function Btn({ children, onClick, danger }: { children: React.ReactNode; onClick: () => unknown; danger?: boolean }) {
  return (
    <button
      type="button"
      onClick={() => void onClick()}
      className={`rounded border px-3 py-1.5 ${danger ? "border-red-300 text-red-700 hover:bg-red-50" : "border-slate-300 hover:bg-slate-50"}`}
    >
      {children}
    </button>
  );
}

async function errorText(r: Response): Promise<string> {
  try {
    const b = (await r.json()) as { error?: { message?: string } };
    return b.error?.message ?? `HTTP ${r.status}`;
  } catch {
    return `HTTP ${r.status}`;
  }
}
