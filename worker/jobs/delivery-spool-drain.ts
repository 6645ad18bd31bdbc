import { randomUUID } from "node:crypto";
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { Db } from "@/lib/db";
import { AppError } from "@/lib/errors";
import { storeSpooled } from "@/lib/messages/delivery";
import { DeliverySpool } from "@/lib/messages/delivery-spool";
import { metrics } from "@/lib/ops/metrics";
import { enqueueGhl } from "@/lib/queue/ghl-jobs";

// Drains the Delivery URL spool (lib/messages/delivery-spool.ts, decision record 006) into
// Postgres: every second, in every worker, each location with deliveries waiting is taken by one
// worker (a Redis lock per location) and its entries are stored oldest first through storeSpooled
// — acceptOutbound with the tenant checks and the messageId dedupe, the receive time as the
// message's place in the send queue — then removed. So a drain starts within a second or two of
// Postgres coming back, and one that dies halfway only stores something twice in vain.
//
//   stored / duplicate → removed;
//   refused (AppError: location not installed, no usable phone…) → removed and logged, as the call
//     would have been refused when it came; GHL is told the message failed when the location can
//     still be reached (not for a 403);
//   Postgres away → the pass stops, the entry stays at the head;
//   any other failure while Postgres answers → tried again on the next passes; after `maxTries`
//     it goes to the location's dead list (kept sealed; logged as an error) so that it does not
//     hold the location's later messages back for ever;
//   an entry sealed with a key this worker lacks → left for a worker that has it.

const waitingGauge = () =>
  metrics().gauge("gw_delivery_spool_messages", "Delivery URL calls waiting in the Redis spool for Postgres");
const drained = metrics().counter("gw_delivery_spool_drained_total", "Spooled Delivery URL calls drained, by outcome");

export type Refusal = { locationId: string; ghlMessageId?: string; error: AppError };

export function startDeliverySpoolDrain(d: {
  db: Db;
  redis: Redis;
  log: Logger;
  spool?: DeliverySpool;
  /** MEDIA_URL_ALLOWED_ORIGINS, as the Delivery URL checked them when it spooled the call */
  allowedMediaOrigins?: readonly string[];
  /** how often each worker looks at the spool (default 1 s) */
  everyMs?: number;
  lockTtlMs?: number;
  maxTries?: number;
  /** entries per location and pass (the lock is renewed as it goes) */
  batch?: number;
  /** a spooled delivery refused when drained */
  onRefused?: (r: Refusal) => Promise<void>;
}) {
  const spool = d.spool ?? new DeliverySpool(d.redis);
  const token = randomUUID();
  const lockTtlMs = d.lockTtlMs ?? 30_000;
  const maxTries = d.maxTries ?? 5;
  const batch = d.batch ?? 1000;
  const tries = new Map<string, number>();
  waitingGauge().collect(async () => [{ labels: {}, value: await spool.size() }]);

  const pgUp = async () => {
    let t: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((r) => (t = setTimeout(() => r(false), 3000)));
    try {
      return await Promise.race([
        d.db.$queryRaw`SELECT 1`.then(
          () => true,
          () => false,
        ),
        timeout,
      ]);
    } finally {
      clearTimeout(t);
    }
  };

  type Pass = { stored: number; duplicate: number; refused: number; dead: number; postgresDown: boolean };
  const dead = (pass: Pass) => {
    pass.dead++;
    drained.inc({ outcome: "dead" });
  };

  async function drainLocation(locationId: string, pass: Pass): Promise<void> {
    for (let n = 0; n < batch; n++) {
      if (n > 0 && n % 50 === 0 && !(await spool.renew(locationId, token, lockTtlMs))) return; // taken over
      const h = await spool.head(locationId);
      if (h.kind === "empty") return;
      if (h.kind === "unknown-key") {
        d.log.warn(
          { locationId },
          "spooled delivery sealed with a key this worker does not have; left for one that has it",
        );
        return;
      }
      if (h.kind === "unreadable") {
        if (await spool.deadLetter(locationId, h.value, h.reason)) dead(pass);
        d.log.error({ locationId, reason: h.reason }, "unreadable spooled delivery moved to the dead list");
        continue;
      }
      const e = h.entry;
      try {
        const r = await storeSpooled(d.db, d.redis, e, d.allowedMediaOrigins);
        await spool.remove(locationId, e.value);
        tries.delete(e.value);
        pass[r.duplicate ? "duplicate" : "stored"]++;
        drained.inc({ outcome: r.duplicate ? "duplicate" : "stored" });
      } catch (err) {
        if (err instanceof AppError) {
          await spool.remove(locationId, e.value);
          tries.delete(e.value);
          pass.refused++;
          drained.inc({ outcome: "refused" });
          const ghlMessageId = messageIdOf(e.body);
          d.log.warn(
            { locationId, ghlMessageId, code: err.code, status: err.status, reason: err.message },
            "spooled delivery dropped: refused, as it would have been when it came",
          );
          await d
            .onRefused?.({ locationId, ghlMessageId, error: err })
            .catch((e2) => d.log.warn({ err: e2, locationId }, "could not report a refused spooled delivery"));
          continue;
        }
        if (!(await pgUp())) {
          pass.postgresDown = true;
          return;
        }
        const n = (tries.get(e.value) ?? 0) + 1;
        if (n < maxTries) {
          tries.set(e.value, n);
          d.log.warn({ err, locationId, tries: n }, "spooled delivery not stored; will try again");
          return; // the location's later entries wait behind it (order)
        }
        tries.delete(e.value);
        if (await spool.deadLetter(locationId, e.value, err instanceof Error ? err.message : String(err))) dead(pass);
        d.log.error(
          { err, locationId, ghlMessageId: messageIdOf(e.body), tries: n },
          "spooled delivery failed every try; moved to the dead list",
        );
      }
    }
  }

  /** One pass over every location with deliveries waiting. */
  async function drainOnce(): Promise<Pass> {
    const pass: Pass = { stored: 0, duplicate: 0, refused: 0, dead: 0, postgresDown: false };
    const locations = await spool.locations();
    if (!locations.length) return pass;
    if (!(await pgUp())) return { ...pass, postgresDown: true };
    for (const locationId of locations) {
      if (!(await spool.lock(locationId, token, lockTtlMs))) continue; // another worker has it
      try {
        await drainLocation(locationId, pass);
      } finally {
        await spool.unlock(locationId, token).catch(() => {});
      }
      if (pass.postgresDown) break;
    }
    if (pass.stored + pass.duplicate + pass.refused + pass.dead)
      d.log.info({ ...pass }, "drained spooled Delivery URL calls");
    if (tries.size > 10_000) tries.clear();
    return pass;
  }

  let running: Promise<unknown> | undefined;
  let stopped = false;
  const tick = () => {
    if (running || stopped) return;
    running = drainOnce()
      .catch((err) => d.log.warn({ err }, "delivery spool drain failed"))
      .finally(() => (running = undefined));
  };
  // everyMs ≤ 0: no timer, passes only through drainOnce (tests)
  const everyMs = d.everyMs ?? 1000;
  const timer = everyMs > 0 ? setInterval(tick, everyMs) : undefined;
  timer?.unref();
  if (timer) tick();

  return {
    drainOnce,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

/** Tells GHL that a spooled message it thinks was taken failed (only where the location can be reached). */
export function reportRefusalToGhl(queue: Queue) {
  return async (r: Refusal) => {
    if (!r.ghlMessageId || r.error.status === 403) return;
    await enqueueGhl(queue, {
      kind: "status",
      locationId: r.locationId,
      messageId: `spooled-${r.ghlMessageId}`,
      ghlMessageId: r.ghlMessageId,
      status: "failed",
      error: r.error.message.slice(0, 300),
    });
  };
}

function messageIdOf(body: string): string | undefined {
  try {
    const id = (JSON.parse(body) as { messageId?: unknown }).messageId;
    return typeof id === "string" ? id : undefined;
  } catch {
    return undefined;
  }
}
