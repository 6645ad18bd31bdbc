"use client";

// Agency users move between their company's installed locations. The server decides (jwt callback,
// trigger "update"): a location outside the company, or uninstalled, is simply not applied.
export function LocationSwitcher({
  label,
  current,
  locations,
}: {
  label: string;
  current: string;
  locations: { id: string; name: string }[];
}) {
  async function choose(locationId: string) {
    const csrf = (await (await fetch("/api/auth/csrf", { credentials: "include" })).json()) as { csrfToken: string };
    await fetch("/api/auth/session", {
      method: "POST",
      credentials: "include",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ csrfToken: csrf.csrfToken, data: { locationId } }),
    });
    window.location.reload();
  }
  return (
    <label className="text-sm">
      <span className="mr-2 text-slate-500">{label}</span>
      <select className="rounded border px-2 py-1" defaultValue={current} onChange={(e) => void choose(e.target.value)}>
        {locations.map((l) => (
          <option key={l.id} value={l.id}>
            {l.name}
          </option>
        ))}
      </select>
    </label>
  );
}
