import type { Agent } from "node:https";
import { WA_CERT_DETAILS, type WASocket, type WAVersion } from "@whiskeysockets/baileys";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { z } from "zod";
import type { Keyring } from "@/lib/crypto";
import type { Db } from "@/lib/db";
import { forgetAccessToken } from "@/lib/ghl/token-refresh";
import { CONTROL_CHANNEL, type ControlMessage, parseControl } from "@/lib/instances/control";
import { metrics } from "@/lib/ops/metrics";
import { subscribeWhenReady } from "@/lib/redis";
import { decideShare, type FleetMember, handoverGapMs, handoversDue } from "./fair-share";
import { type EndReason, InstanceSession, type SessionDeps, type SocketHooks } from "./instance-session";
import { Leases } from "./leases";
import { memoryCache } from "./memory-cache";
import { type BackoffOptions, defaultBackoff } from "./reconnect-policy";
import { sandboxMediaDispatcher } from "./sandbox-media-dispatcher";

// Makes this worker's sockets match the desired state in Postgres: every instance with
// desiredState RUNNING gets exactly one socket in the fleet, on whichever worker takes its lease.
// Periodic scans are the truth (they recover from lost pub/sub messages and dead workers);
// gw:control messages only make changes happen now instead of at the next scan.
// Workers share the numbers by weight and hand surplus ones over one at a time; a draining worker
// hands all of its numbers over (docs/architecture.md#sharing-numbers-between-workers).

export type ManagerDeps = {
  db: Db;
  /** commands (leases, events, QR) */
  redis: Redis;
  /** a dedicated connection: a subscribed ioredis client cannot send other commands */
  subscriber: Redis;
  workerId: string;
  leaseTtlMs: number;
  wsUrl: string;
  /** hex of a sandbox server's root key (WA_SANDBOX_ROOT_PUBLIC_KEY); unset = WhatsApp's own */
  sandboxRootPublicKey?: string;
  fetchAgent?: Agent;
  /** the simulator's media CA (WA_SANDBOX_MEDIA_CA_PEM): history blobs are then fetched from it */
  sandboxMediaCaPem?: string;
  keys?: Keyring;
  log: Logger;
  scanEveryMs?: number;
  backoff?: BackoffOptions;
  watchdogMs?: number;
  qrTimeoutMs?: number;
  hooks?: SocketHooks;
  /** resolves the WhatsApp Web version (wa-version.ts); asked at start and every 6 h. Unset = bundled */
  resolveVersion?: () => Promise<WAVersion | undefined>;
  /** this worker's weight in the fleet (WORKER_CAPACITY): its share is total × capacity / Σ capacities */
  capacity?: number;
  /** handovers one worker makes per minute at most (HANDOVERS_PER_MINUTE); unset = max(1, 5 % of the numbers) */
  handoversPerMinute?: number;
  /** a reconnect lasting longer raises a "disconnected" alert (ALERT_DISCONNECT_GRACE_MS) */
  alertGraceMs?: number;
};

const MANAGERS_KEY = "gw:managers";
/** per live manager, expiring with its heartbeat: its weight and how many numbers it holds */
const managerInfoKey = (workerId: string) => `gw:manager:${workerId}`;
const ManagerInfo = z.object({
  w: z.number().positive().finite().catch(1),
  held: z.number().int().nonnegative().catch(0),
});

const heldGauge = metrics().gauge("gw_worker_wa_numbers_held", "WhatsApp numbers this worker holds");
const targetGauge = metrics().gauge(
  "gw_worker_wa_target_share",
  "WhatsApp numbers this worker should hold (its fair share)",
);
const drainingGauge = metrics().gauge(
  "gw_worker_draining",
  "1 while this worker hands its numbers over before exiting",
);
const handovers = metrics().counter(
  "gw_worker_wa_handovers_total",
  "WhatsApp numbers this worker handed over to another (rebalance or drain)",
);

export class SessionManager {
  private sessions = new Map<string, InstanceSession>();
  private claiming = new Set<string>();
  private releasing = new Set<Promise<unknown>>();
  private lastRenewOk = new Map<string, number>();
  private leases: Leases;
  private timers: NodeJS.Timeout[] = [];
  private running = false;
  private scanning?: Promise<void>;
  private log: Logger;
  private sessionDeps: SessionDeps;
  private version?: WAVersion;
  private draining = false;
  private lastHandoverAt = 0;
  /** numbers this worker handed over, not to be taken back before the time given */
  private handedOver = new Map<string, number>();

  constructor(private d: ManagerDeps) {
    this.log = d.log.child({ part: "wa-sessions", workerId: d.workerId });
    this.leases = new Leases(d.redis, d.workerId, d.leaseTtlMs);
    this.sessionDeps = {
      db: d.db,
      redis: d.redis,
      log: this.log,
      baileysLog: baileysLogger(d.log),
      wsUrl: d.wsUrl,
      fetchAgent: d.fetchAgent,
      keys: d.keys,
      fetchDispatcher:
        d.sandboxRootPublicKey && d.sandboxMediaCaPem
          ? sandboxMediaDispatcher(d.wsUrl, d.sandboxMediaCaPem)
          : undefined,
      backoff: d.backoff ?? defaultBackoff,
      watchdogMs: d.watchdogMs ?? 30_000,
      qrTimeoutMs: d.qrTimeoutMs,
      msgRetryCounterCache: memoryCache(),
      holdsLease: async (id) => (await this.leases.owner(id)) === d.workerId,
      hooks: d.hooks,
      version: () => this.version,
      alertGraceMs: d.alertGraceMs,
    };
  }

  async start(): Promise<void> {
    if (this.d.sandboxRootPublicKey) {
      // process-wide: this worker talks to one sandbox server instead of WhatsApp (README of sandbox/whatsapp)
      WA_CERT_DETAILS.PUBLIC_KEY = Buffer.from(this.d.sandboxRootPublicKey, "hex");
    }
    this.running = true;
    drainingGauge.set({ worker: this.d.workerId }, 0);
    const refreshVersion = async () => {
      if (this.d.resolveVersion) this.version = (await this.d.resolveVersion()) ?? this.version;
    };
    await refreshVersion();
    this.d.subscriber.on("message", this.onMessage);
    await subscribeWhenReady(this.d.subscriber, CONTROL_CHANNEL);
    await this.heartbeat();
    const every = (ms: number, fn: () => Promise<void>) => {
      const t = setInterval(() => void fn().catch((err) => this.log.warn({ err }, "periodic task failed")), ms);
      this.timers.push(t);
    };
    every(Math.max(200, Math.floor(this.d.leaseTtlMs / 3)), () => this.renewAll());
    every(this.d.scanEveryMs ?? 5000, () => this.scan());
    every(6 * 3600_000, refreshVersion);
    await this.scan();
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /**
   * Hand every number over before exiting: leave the fleet at once (so the others count their
   * shares without this worker and take what it releases), take nothing more, then close each
   * socket WITHOUT logging out and release its lease. Leases still renew meanwhile. True when all
   * were handed over within `timeoutMs`; the rest are then left to lease expiry.
   */
  async drain(timeoutMs = 30_000): Promise<boolean> {
    if (!this.draining) {
      this.draining = true;
      drainingGauge.set({ worker: this.d.workerId }, 1);
      await this.d.redis
        .multi()
        .zrem(MANAGERS_KEY, this.d.workerId)
        .del(managerInfoKey(this.d.workerId))
        .exec()
        .catch(() => {});
    }
    const all = (async () => {
      await this.scanning?.catch(() => {});
      // a start already under way when draining began lands in `sessions` later: look again
      while (this.sessions.size) {
        const open = [...this.sessions.values()];
        await Promise.all(open.map((s) => s.stop()));
        await Promise.all([...this.releasing]);
        handovers.inc({ worker: this.d.workerId }, open.length);
        if (this.sessions.size) await new Promise((r) => setTimeout(r, 50));
      }
      return true;
    })();
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([all, new Promise<false>((r) => (timer = setTimeout(() => r(false), timeoutMs)))]);
    clearTimeout(timer);
    heldGauge.set({ worker: this.d.workerId }, this.sessions.size);
    if (!done) this.log.warn({ left: this.sessions.size }, "drain timed out; the remaining leases expire on their own");
    return done;
  }

  /** Graceful: drain (sockets closed WITHOUT logging out, leases released), then stop the timers. */
  async stop(timeoutMs?: number): Promise<void> {
    await this.drain(timeoutMs);
    this.running = false;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.d.subscriber.off("message", this.onMessage);
    await this.d.subscriber.unsubscribe(CONTROL_CHANNEL).catch(() => {});
  }

  /** For the send loop and inbound handlers (worker/messaging): the live socket of an owned instance. */
  socketFor = (instanceId: string): { sock: WASocket; online: boolean } | undefined => {
    const s = this.sessions.get(instanceId);
    const sock = s?.socket;
    return s && sock ? { sock, online: s.online } : undefined;
  };

  owned(): string[] {
    return [...this.sessions.keys()];
  }

  /** One pass of reconciliation; exposed so tests and control messages need not wait for the timer. */
  scan(): Promise<void> {
    this.scanning ??= this.doScan().finally(() => (this.scanning = undefined));
    return this.scanning;
  }

  private get taking(): boolean {
    return this.running && !this.draining;
  }

  private async doScan() {
    if (!this.taking) return;
    const rows = await this.d.db.instance.findMany({
      where: { desiredState: "RUNNING" },
      select: { id: true, locationId: true },
    });
    const desired = new Set(rows.map((r) => r.id));
    for (const [id, s] of this.sessions) {
      if (!desired.has(id)) await s.stop({ status: "OFFLINE" });
    }
    const share = await this.share(rows.length);
    if (share.shed) return this.handOver(rows.length, Math.max(1, this.sessions.size - share.target));
    const now = Date.now();
    for (const [id, until] of this.handedOver) if (until <= now) this.handedOver.delete(id);
    for (const r of shuffle(rows)) {
      if (!this.taking || this.sessions.size >= share.acquireLimit) break;
      if (!this.sessions.has(r.id) && !this.handedOver.has(r.id)) await this.tryStart(r);
    }
    heldGauge.set({ worker: this.d.workerId }, this.sessions.size);
  }

  /**
   * Above its share: close linked sockets gracefully (no logout, creds kept), as many as the
   * handover rate allows since the last, and release their leases; a worker below its share takes
   * them at its next scan. Its queued sends wait in Postgres
   * and go out from the new owner, oldest first. Rate-bounded, so a rebalance never reconnects
   * many numbers at once.
   */
  private async handOver(total: number, excess: number) {
    const now = Date.now();
    const gap = handoverGapMs(total, this.d.handoversPerMinute);
    const scanEveryMs = this.d.scanEveryMs ?? 5000;
    const due = handoversDue(now, this.lastHandoverAt, gap, excess, scanEveryMs).count;
    let handed = 0;
    while (handed < due && this.taking) {
      // a number being linked (QR shown) stays: handing it over would void the QR someone is scanning
      const s = [...this.sessions.values()].find((x) => x.online);
      if (!s) break;
      const id = s.ctx.instanceId;
      // long enough for the others to scan; after that an orphaned number is taken back
      this.handedOver.set(id, Date.now() + this.d.leaseTtlMs * 2);
      this.log.info({ instanceId: id }, "handing a number over to rebalance the fleet");
      await s.stop();
      await Promise.all([...this.releasing]);
      handovers.inc({ worker: this.d.workerId });
      heldGauge.set({ worker: this.d.workerId }, this.sessions.size);
      handed++;
    }
    // only the handovers made use up credit (as before: a scan with nothing online spends none)
    if (handed > 0) this.lastHandoverAt = handoversDue(now, this.lastHandoverAt, gap, handed, scanEveryMs).lastMs;
  }

  private async tryStart(r: { id: string; locationId: string }) {
    // claimed synchronously: a scan and a control message racing here must not open two sockets
    // (acquire() also succeeds for a lease this worker already holds)
    if (!this.taking || this.sessions.has(r.id) || this.claiming.has(r.id)) return;
    this.claiming.add(r.id);
    let got = false;
    try {
      got = await this.leases.acquire(r.id);
    } finally {
      this.claiming.delete(r.id);
    }
    if (!got) return;
    if (!this.taking) return void (await this.leases.release(r.id).catch(() => {}));
    const s = new InstanceSession(this.sessionDeps, { instanceId: r.id, locationId: r.locationId }, this.onEnded);
    this.sessions.set(r.id, s);
    this.lastRenewOk.set(r.id, Date.now());
    try {
      await s.start();
    } catch (err) {
      this.log.error({ err, instanceId: r.id }, "WhatsApp session failed to start");
      await s.stop();
    }
  }

  private onEnded = (s: InstanceSession, reason: EndReason) => {
    const id = s.ctx.instanceId;
    if (this.sessions.get(id) !== s) return;
    const forget = () => {
      if (this.sessions.get(id) !== s) return;
      this.sessions.delete(id);
      this.lastRenewOk.delete(id);
    };
    if (reason === "lease-lost") return forget();
    // forgotten only once released: a start for the same id in between would otherwise take
    // the lease (acquire() accepts our own) and then lose it to this late release
    const p = this.leases
      .release(id)
      .catch((err) => this.log.warn({ err, instanceId: id }, "lease release failed"))
      .finally(() => {
        forget();
        this.releasing.delete(p);
      });
    this.releasing.add(p);
  };

  private renewing = false;
  private async renewAll() {
    // after a blocked event loop the interval fires back to back: one pass at a time
    if (this.renewing) return;
    this.renewing = true;
    try {
      await this.renewPass();
    } finally {
      this.renewing = false;
    }
  }

  private async renewPass() {
    await this.heartbeat();
    await Promise.all(
      [...this.sessions.entries()].map(async ([id, s]) => {
        try {
          if (await this.leases.renew(id)) return void this.lastRenewOk.set(id, Date.now());
          this.log.warn({ instanceId: id }, "lease lost; closing the socket now");
          s.abort();
        } catch (err) {
          // Redis unreachable: we cannot know whether the lease still stands; give up before it can expire
          if (Date.now() - (this.lastRenewOk.get(id) ?? 0) > this.d.leaseTtlMs * 0.8) {
            this.log.warn({ err, instanceId: id }, "lease not renewable in time; closing the socket");
            s.abort();
          }
        }
      }),
    );
  }

  /** Live managers announce themselves, with their weight and load, so that each can work out its share. */
  private async heartbeat() {
    const now = Date.now();
    const m = this.d.redis.multi();
    if (!this.draining) {
      const info = JSON.stringify({ w: this.capacity, held: this.sessions.size });
      m.zadd(MANAGERS_KEY, now, this.d.workerId).set(managerInfoKey(this.d.workerId), info, "PX", this.d.leaseTtlMs);
    }
    await m.zremrangebyscore(MANAGERS_KEY, 0, now - this.d.leaseTtlMs).exec();
  }

  private get capacity(): number {
    return this.d.capacity ?? 1;
  }

  private async share(total: number) {
    const now = Date.now();
    const ids = await this.d.redis.zrangebyscore(MANAGERS_KEY, now - this.d.leaseTtlMs, "+inf");
    if (!ids.includes(this.d.workerId)) ids.push(this.d.workerId);
    const infos = await this.d.redis.mget(ids.map(managerInfoKey));
    const members: FleetMember[] = ids.map((id, i) => {
      if (id === this.d.workerId) return { id, weight: this.capacity, held: this.sessions.size };
      const info = ManagerInfo.safeParse(parseJson(infos[i]));
      return { id, weight: info.success ? info.data.w : 1, held: info.success ? info.data.held : 0 };
    });
    const d = decideShare(this.d.workerId, total, members);
    targetGauge.set({ worker: this.d.workerId }, d.target);
    return d;
  }

  private onMessage = (channel: string, raw: string) => {
    // while draining, stop/logout still apply to the numbers not handed over yet; starts are refused below
    if (channel !== CONTROL_CHANNEL || !this.running) return;
    const m = parseControl(raw);
    if (!m) return void this.log.warn("malformed control message ignored");
    this.handle(m).catch((err) => this.log.warn({ err, type: m.type }, "control message failed"));
  };

  private async handle(m: ControlMessage) {
    if (m.type === "location.uninstalled") {
      forgetAccessToken(this.d.db, "location", m.locationId);
      await this.d.db.instance.updateMany({ where: { locationId: m.locationId }, data: { desiredState: "STOPPED" } });
      for (const s of this.sessions.values())
        if (s.ctx.locationId === m.locationId) await s.stop({ status: "OFFLINE" });
      return;
    }
    const s = this.sessions.get(m.instanceId);
    if (s && s.ctx.locationId !== m.locationId) return; // never act on a mismatched tenant
    switch (m.type) {
      case "instance.stop":
        return s?.stop({ status: "OFFLINE", lastError: null });
      case "instance.logout":
        return s?.logout();
      case "instance.restart":
        if (s) return s.restart();
        return this.startIfDesired(m);
      case "instance.pairing-code":
        if (s) return s.requestPairingCode(m.phone);
        return this.startIfDesired(m);
      case "instance.start":
        return this.startIfDesired(m);
    }
  }

  private async startIfDesired(m: { instanceId: string; locationId: string }) {
    if (!this.taking || this.handedOver.has(m.instanceId)) return;
    const row = await this.d.db.instance.findFirst({
      where: { id: m.instanceId, locationId: m.locationId, desiredState: "RUNNING" },
      select: { id: true, locationId: true },
    });
    if (!row) return;
    // every worker hears the message: a full one leaves it to the others (or to its next scan)
    const total = await this.d.db.instance.count({ where: { desiredState: "RUNNING" } });
    if (this.sessions.size >= (await this.share(total)).acquireLimit) return;
    await this.tryStart(row);
  }
}

function baileysLogger(parent: Logger): Logger {
  // Baileys logs payloads below warn; never go below warn, and stay silent when the parent is
  return parent.child({ module: "baileys" }, { level: parent.levelVal > 40 ? parent.level : "warn" });
}

function parseJson(raw: string | null): unknown {
  if (!raw) return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

function shuffle<T>(a: T[]): T[] {
  const out = [...a];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
