// first: every AsyncLocalStorage made after this (one per Baileys socket) shares one real storage
import "./whatsapp/shared-async-storage-install";
import { randomUUID } from "node:crypto";
import { Agent } from "node:https";
import { hostname } from "node:os";
import { closeDb, db } from "@/lib/db";
import { EnvError, env } from "@/lib/env";
import { defaultServiceName, logger } from "@/lib/log";
import { registerFleetGauges, renderMetrics } from "@/lib/ops/fleet-metrics";
import { metrics } from "@/lib/ops/metrics";
import { blockingRedis, closeRedis, redis } from "@/lib/redis";
import { startHeartbeat } from "./heartbeat";
import { startWorkerHttp } from "./http-server";
import { reportRefusalToGhl, startDeliverySpoolDrain } from "./jobs/delivery-spool-drain";
import { startHousekeeping } from "./jobs/housekeeping";
import { startMessagingRuntime } from "./messaging/runtime";
import { guardConsoleFromSignalKeys } from "./whatsapp/console-guard";
import { SessionManager } from "./whatsapp/session-manager";
import { waWebVersion } from "./whatsapp/wa-version";

// The worker process: owns WhatsApp sockets (leases), queue consumers and GHL API calls.
// Shutdown on SIGTERM/SIGINT: drain (/ready false, every number handed over), then stop the rest.
async function main() {
  defaultServiceName("worker");
  let cfg;
  try {
    cfg = env();
  } catch (e) {
    if (e instanceof EnvError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(78);
    }
    throw e;
  }
  const log = logger().child({ svc: "worker" });
  guardConsoleFromSignalKeys(log.child({ module: "libsignal" }));
  const workerId = cfg.WORKER_ID || `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  await db().$queryRaw`SELECT 1`;
  await redis().ping();

  const stoppers: { name: string; stop: () => Promise<void> }[] = [];
  const heartbeat = startHeartbeat(redis(), workerId, () => ({ host: hostname() }));
  stoppers.push({ name: "heartbeat", stop: heartbeat.stop });

  // WhatsApp sockets of the instances this worker leases; stopped before the heartbeat (stoppers
  // run in reverse), closing sockets without logging out and releasing leases for a fast takeover
  // message flows first: the session manager hands each opened socket to them
  const messaging = await startMessagingRuntime(cfg, log, workerId);
  stoppers.push({ name: "messaging", stop: messaging.stop });
  // Delivery URL calls spooled in Redis while Postgres was away (decision 006)
  const spoolDrain = startDeliverySpoolDrain({
    db: db(),
    redis: redis(),
    log: log.child({ part: "delivery-spool" }),
    allowedMediaOrigins: cfg.MEDIA_URL_ALLOWED_ORIGINS,
    onRefused: reportRefusalToGhl(messaging.ghlQueue),
  });
  stoppers.push({ name: "delivery spool drain", stop: spoolDrain.stop });
  // expired media and webhook receipts, once an hour across the fleet
  const housekeeping = await startHousekeeping({
    db: db(),
    connect: blockingRedis,
    log: log.child({ part: "housekeeping" }),
    everyMs: cfg.HOUSEKEEPING_EVERY_MS,
  });
  stoppers.push({ name: "housekeeping", stop: housekeeping.stop });
  const waSubscriber = blockingRedis();
  const sessions = new SessionManager({
    db: db(),
    redis: redis(),
    subscriber: waSubscriber,
    workerId,
    leaseTtlMs: cfg.LEASE_TTL_MS,
    wsUrl: cfg.WA_WEBSOCKET_URL,
    sandboxRootPublicKey: cfg.WA_SANDBOX_ROOT_PUBLIC_KEY || undefined,
    fetchAgent: cfg.WA_SANDBOX_MEDIA_CA_PEM ? new Agent({ ca: cfg.WA_SANDBOX_MEDIA_CA_PEM }) : undefined,
    sandboxMediaCaPem: cfg.WA_SANDBOX_MEDIA_CA_PEM || undefined,
    log,
    hooks: messaging.hooks,
    capacity: cfg.WORKER_CAPACITY,
    handoversPerMinute: cfg.HANDOVERS_PER_MINUTE || undefined,
    alertGraceMs: cfg.ALERT_DISCONNECT_GRACE_MS,
    // a sandbox server accepts any version; the real one needs a current one
    resolveVersion: () =>
      waWebVersion(redis(), log, { fetchOnline: !cfg.WA_SANDBOX_ROOT_PUBLIC_KEY && cfg.NODE_ENV !== "test" }),
  });
  await sessions.start();
  stoppers.push({
    name: "whatsapp sessions",
    stop: async () => {
      await sessions.stop(cfg.DRAIN_TIMEOUT_MS);
      await waSubscriber.quit().catch(() => {});
    },
  });

  registerFleetGauges(metrics(), { db: db(), ghlQueue: messaging.ghlQueue });
  metrics()
    .gauge("gw_worker_rss_bytes", "Resident memory of this worker")
    .collect(() => [{ labels: { worker: workerId }, value: process.memoryUsage().rss }]);
  const http = await startWorkerHttp(cfg.WORKER_HTTP_PORT, {
    ready: async () => {
      const pg = await db().$queryRaw`SELECT 1`.then(
        () => true,
        () => false,
      );
      const rd = await redis()
        .ping()
        .then(
          (r) => r === "PONG",
          () => false,
        );
      // draining: the orchestrator must stop counting on this worker at once
      const draining = sessions.isDraining;
      return { ok: pg && rd && !draining, workerId, postgres: pg, redis: rd, draining };
    },
    metrics: (authorization) => renderMetrics(cfg.METRICS_TOKEN, authorization),
  });
  // not among the stoppers: /ready answers false while the numbers are handed over, closed last
  const closeHttp = () => new Promise<void>((r) => http.close(() => r()));
  log.info({ workerId, port: cfg.WORKER_HTTP_PORT }, "worker ready");

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "worker stopping");
    const force = setTimeout(() => process.exit(1), cfg.DRAIN_TIMEOUT_MS + 20_000);
    force.unref();
    // drain first: stop taking numbers (/ready false from here on), hand every one over, bounded
    // by DRAIN_TIMEOUT_MS (docs/architecture.md#sharing-numbers-between-workers)
    const handedOver = await sessions
      .drain(cfg.DRAIN_TIMEOUT_MS)
      .catch((err) => (log.warn({ err }, "drain failed"), false));
    log.info({ handedOver }, "numbers handed over");
    for (const s of stoppers.reverse()) {
      await s.stop().catch((err) => log.warn({ err, part: s.name }, "stop failed"));
    }
    await closeHttp();
    await closeRedis();
    await closeDb();
    log.info("worker stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

main().catch((err) => {
  logger().fatal({ err }, "worker failed to start");
  process.exit(1);
});
