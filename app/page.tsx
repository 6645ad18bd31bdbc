import Link from "next/link";

export const dynamic = "force-static";

export default function Home() {
  return (
    <main className="mx-auto max-w-2xl p-8">
      <h1 className="text-2xl font-semibold">WhatsApp Gateway for GoHighLevel</h1>
      <p className="mt-3 text-slate-600">
        Link each GoHighLevel location to its WhatsApp numbers by QR code. Messages typed in GHL conversations leave
        through WhatsApp; replies, media and read receipts come back.
      </p>
      <div className="mt-6 flex gap-3">
        <Link
          href="/api/oauth/install"
          className="rounded bg-emerald-600 px-4 py-2 font-medium text-white hover:bg-emerald-700"
        >
          Install in GoHighLevel
        </Link>
        <Link href="/api/health" className="rounded border border-slate-300 px-4 py-2 hover:bg-white">
          Service status
        </Link>
      </div>
    </main>
  );
}
