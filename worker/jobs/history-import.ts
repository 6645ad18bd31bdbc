import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { Db } from "@/lib/db";
import { GHL_BURST, ghlWindowUse, waitForGhlSlot } from "@/lib/ghl/rate-window";
import { dueImports, finishImport, type ImportRef, importState, nextHistoryRows } from "@/lib/history/history-import";
import {
  type GhlCall,
  loadInboundToPost,
  markNotPosted,
  postInboundToGhl,
  type SyncConfig,
} from "@/lib/messages/ghl-post";

// The history import's consumer (docs/decisions/020-history-sync-and-import.md): posts each
// number's history rows to GHL, one number at a time per worker and one worker per number (a
// Redis lock), behind live traffic: it never uses more than `postsPer10s` of the location's GHL
// window and waits while live calls fill more than `liveHeadroom` of it, so the live GHL queue
// (a separate BullMQ consumer) never waits for it. Its progress is in Postgres (the rows' status),
// so a worker that dies mid-import leaves it to the next scan, here or on another worker.
export type HistoryImportDeps = {
  db: Db;
  redis: Redis;
  ghlFor: (locationId: string) => GhlCall;
  cfg: SyncConfig;
  log: Logger;
  workerId: string;
  everyMs?: number;
  /** a SYNCING import whose sync has been quiet this long is imported anyway (default 60 s) */
  quietMs?: number;
  /** the import's own share of the location's GHL window (default 30 posts per 10 s) */
  postsPer10s?: number;
  /** live calls in the window above which the import waits (default 60 of GHL_BURST's 90) */
  liveHeadroom?: number;
};

const BATCH = 20;
/** a dead worker's import is taken over this long after its last post */
const LOCK_MS = 15_000;
const MAX_TRIES = 5;

export function startHistoryImport(d: HistoryImportDeps) {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const tries = new Map<string, number>();
  const lockKey = (id: string) => `gw:history:lock:${id}`;

  const pace = async (locationId: string) => {
    await waitForGhlSlot(d.redis, `history:${locationId}`, { max: d.postsPer10s ?? 30, windowMs: GHL_BURST.windowMs });
    // live traffic first: the import waits while the location's window is busy
    while (!stopped && (await ghlWindowUse(d.redis, `location:${locationId}`)) > (d.liveHeadroom ?? 60))
      await sleep(250);
  };

  const runImport = async (imp: ImportRef) => {
    const ghl = d.ghlFor(imp.locationId);
    for (;;) {
      if (stopped || (await importState(d.db, imp)) !== "IMPORTING") return;
      const rows = await nextHistoryRows(d.db, imp, BATCH);
      if (!rows.length) return finishImport(d.db, imp);
      for (const r of rows) {
        if (stopped) return;
        await pace(imp.locationId);
        if (stopped) return;
        await d.redis.pexpire(lockKey(imp.instanceId), LOCK_MS);
        const ref = { locationId: imp.locationId, messageId: r.id };
        try {
          // read just before posting: a cancel marks the rows not posted (FAILED) with the import
          const m = await loadInboundToPost(d.db, ref);
          if (m?.status !== "RECEIVED") continue;
          await postInboundToGhl(d.db, ghl, ref, d.cfg, m);
          tries.delete(r.id);
        } catch (err) {
          const n = (tries.get(r.id) ?? 0) + 1;
          tries.set(r.id, n);
          d.log.warn({ err, ...imp, messageId: r.id, attempt: n }, "history message not posted to GHL");
          if (n >= MAX_TRIES) {
            tries.delete(r.id);
            await markNotPosted(d.db, ref, err instanceof Error ? err.message : String(err));
          }
          await sleep(Math.min(30_000, 500 * 2 ** n));
          break; // read the batch again: the import may have been cancelled meanwhile
        }
      }
    }
  };

  const pass = async () => {
    for (const imp of await dueImports(d.db, d.quietMs ?? 60_000)) {
      if (stopped) return;
      const got = await d.redis.set(lockKey(imp.instanceId), d.workerId, "PX", LOCK_MS, "NX");
      if (got !== "OK") continue;
      try {
        await runImport(imp);
      } finally {
        // released only if still ours
        if ((await d.redis.get(lockKey(imp.instanceId)).catch(() => null)) === d.workerId)
          await d.redis.del(lockKey(imp.instanceId)).catch(() => {});
      }
    }
  };

  const loop = () => {
    if (stopped) return;
    running = pass()
      .catch((err) => d.log.warn({ err }, "history import pass failed"))
      .finally(() => {
        if (!stopped) timer = setTimeout(loop, d.everyMs ?? 2000);
      });
  };
  loop();

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}
