import { requestMessages } from "@/lib/i18n/request-locale";
import { redis } from "@/lib/redis";
import { readInstallReport } from "@/lib/tenants/install-report";

export const dynamic = "force-dynamic";

type Search = Promise<{ r?: string; error?: string; lang?: string }>;

// Where the OAuth callback lands: what was installed, or why it was not.
export default async function Installed({ searchParams }: { searchParams: Search }) {
  const sp = await searchParams;
  const { locale, t } = await requestMessages(sp.lang);
  const report = sp.r ? await readInstallReport(redis(), sp.r) : null;
  if (!report) {
    const key =
      sp.error === "denied"
        ? "installed.err.denied"
        : sp.error === "exchange"
          ? "installed.err.exchange"
          : "installed.err.state";
    return (
      <main lang={locale} className="mx-auto max-w-xl p-8">
        <h1 className="text-2xl font-semibold text-red-700">{t["installed.err.title"]}</h1>
        <p className="mt-3 text-slate-700">{t[key]}</p>
        <a
          href="/api/oauth/install"
          className="mt-6 inline-block rounded bg-emerald-600 px-4 py-2 font-medium text-white"
        >
          {t["installed.again"]}
        </a>
      </main>
    );
  }
  return (
    <main lang={locale} className="mx-auto max-w-xl p-8">
      <h1 className="text-2xl font-semibold text-emerald-700">{t["installed.title"]}</h1>
      <p className="mt-3 text-slate-700">{t["installed.lead"]}</p>
      {report.kind === "company" && <p className="mt-2 text-sm text-slate-500">{t["installed.company"]}</p>}
      <ul className="mt-4 divide-y rounded border bg-white" aria-label="installed locations">
        {report.locations.map((l) => (
          <li key={l.id} className="flex justify-between px-4 py-2">
            <span className="font-medium">{l.name ?? l.id}</span>
            <span className="text-xs text-slate-500">{l.id}</span>
          </li>
        ))}
      </ul>
      <p className="mt-6 text-slate-600">{t["installed.next"]}</p>
    </main>
  );
}
