import type { Queue } from "bullmq";
import type { Logger } from "pino";
import { drainAlertOutbox } from "@/lib/alerts/alert-outbox";
import type { Db } from "@/lib/db";

// Queues the deliveries of raised alerts (lib/alerts/alert-outbox.ts) every `everyMs`; every
// worker runs it, the rows being taken with SKIP LOCKED.
export function startAlertOutbox(d: { db: Db; queue: Queue; log: Logger; everyMs?: number }) {
  let running: Promise<unknown> | undefined;
  const tick = () => {
    if (running) return;
    running = drainAlertOutbox(d.db, d.queue)
      .catch((err) => d.log.warn({ err }, "alert outbox not drained"))
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(tick, d.everyMs ?? 1000);
  timer.unref?.();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
