import { fetchLatestWaWebVersion, type WAVersion } from "@whiskeysockets/baileys";
import type { Redis } from "ioredis";
import type { Logger } from "pino";

// WhatsApp answers a stale WhatsApp Web version with `failure 405` (whatsapp.md), and the bundled
// one ages with the Baileys release. So: the latest version, fetched at most once a day by any
// worker and shared through Redis; the bundled one (undefined) when offline, sandboxed or in tests.
const KEY = "gw:wa-web-version";
const FRESH_MS = 24 * 3600_000;

type Cached = { version: WAVersion; at: number };
type Fetcher = () => Promise<{ version: WAVersion; error?: unknown }>;

export async function waWebVersion(
  redis: Redis,
  log: Logger,
  opts: { fetchOnline: boolean; fetcher?: Fetcher; now?: number },
): Promise<WAVersion | undefined> {
  const now = opts.now ?? Date.now();
  const cached = parse(await redis.get(KEY).catch(() => null));
  if (cached && now - cached.at < FRESH_MS) return cached.version;
  if (!opts.fetchOnline) return cached?.version;
  try {
    const r = await (opts.fetcher ?? (() => fetchLatestWaWebVersion({ signal: AbortSignal.timeout(5000) })))();
    if (r.error) throw r.error;
    await redis.set(KEY, JSON.stringify({ version: r.version, at: now }), "PX", 7 * FRESH_MS);
    log.info({ version: r.version.join(".") }, "WhatsApp Web version refreshed");
    return r.version;
  } catch (err) {
    log.warn({ err }, "WhatsApp Web version not refreshed; using the last known or the bundled one");
    return cached?.version;
  }
}

function parse(raw: string | null): Cached | undefined {
  if (!raw) return undefined;
  try {
    const v = JSON.parse(raw) as Cached;
    return Array.isArray(v.version) && v.version.length === 3 && typeof v.at === "number" ? v : undefined;
  } catch {
    return undefined;
  }
}
