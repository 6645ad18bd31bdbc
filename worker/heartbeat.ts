import type { Redis } from "ioredis";
import { WORKER_HEARTBEAT_PREFIX } from "@/lib/ops/readiness";

// The app's /api/ready shows live workers through these keys; each expires unless renewed.
export function startHeartbeat(redis: Redis, workerId: string, info: () => Record<string, unknown>, everyMs = 5000) {
  const key = `${WORKER_HEARTBEAT_PREFIX}${workerId}`;
  const beat = () =>
    redis.set(key, JSON.stringify({ at: Date.now(), pid: process.pid, ...info() }), "PX", everyMs * 3).catch(() => {});
  void beat();
  const timer = setInterval(beat, everyMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await redis.del(key).catch(() => {});
    },
  };
}
