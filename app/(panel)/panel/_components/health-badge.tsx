"use client";

import type { HealthView } from "@/lib/health/health-view";

// A number's health (lib/health/, docs/architecture.md#number-health): a badge with the state and,
// when not healthy, the reasons in words a person reads.
export type HealthTexts = Record<"health.healthy" | "health.at_risk" | "health.restricted", string>;

const tone: Record<HealthView["state"], string> = {
  healthy: "bg-emerald-50 text-emerald-800",
  at_risk: "bg-amber-100 text-amber-900",
  restricted: "bg-red-100 text-red-900",
};

export function HealthBadge({ health, t }: { health: HealthView | undefined; t: HealthTexts }) {
  if (!health) return null;
  return (
    <div className="mt-2 text-sm" data-testid="health" data-state={health.state}>
      <span className={`rounded-full px-2 py-0.5 text-xs font-medium ${tone[health.state]}`}>
        {t[`health.${health.state}`]}
      </span>
      {health.reasons.length > 0 && (
        <ul className="mt-1 list-disc pl-5 text-slate-700" data-testid="health-reasons">
          {health.reasons.map((r) => (
            <li key={r}>{r}</li>
          ))}
        </ul>
      )}
    </div>
  );
}
