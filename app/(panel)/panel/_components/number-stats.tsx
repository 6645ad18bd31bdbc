import type { AlertsMessages } from "@/lib/i18n/alerts-messages";
import type { NumberStats } from "@/lib/instances/number-stats";

// One number's day (lib/instances/number-stats.ts): sent, received, failed today, the warm-up
// allowance used, and its last activity. Read with the numbers list, refreshed with it.
export function NumberStatsRow({ s, t }: { s: NumberStats; t: AlertsMessages }) {
  const cell = (label: string, value: string, testId: string) => (
    <div className="min-w-0">
      <dt className="text-xs text-slate-500">{label}</dt>
      <dd className="font-medium" data-testid={testId}>
        {value}
      </dd>
    </div>
  );
  const a = s.allowance;
  return (
    <dl
      className="mt-3 grid grid-cols-2 gap-2 rounded bg-slate-50 p-2 text-sm sm:grid-cols-5"
      data-testid="number-stats"
    >
      {cell(t["stats.sent"], String(s.sentToday), "stats-sent")}
      {cell(t["stats.received"], String(s.receivedToday), "stats-received")}
      {cell(t["stats.failed"], String(s.failedToday), "stats-failed")}
      {cell(
        t["stats.allowance"],
        `${a.newChats.used}/${a.newChats.limit} ${t["stats.newChats"]} · ${a.messages.used}/${a.messages.limit} ${t["stats.messages"]}`,
        "stats-allowance",
      )}
      {cell(
        t["stats.lastActivity"],
        s.lastActivityAt ? new Date(s.lastActivityAt).toLocaleString() : t["stats.never"],
        "stats-last-activity",
      )}
    </dl>
  );
}
