import { writeFileSync } from "node:fs";
// The fleet benchmarks of `npm run bench` (see run.ts for the commands): each links real numbers
// (Baileys in the product's worker ↔ the WhatsApp simulator), then measures one thing and prints
// one JSON line per measurement through `out`.
import path from "node:path";
import type { Redis } from "ioredis";
import type pg from "pg";
import { publishOutboundQueued } from "../../lib/messages/outbound-signal";
import {
  BenchWorker,
  contactPhone,
  cpuMeter,
  type Linked,
  linkNumbers,
  log,
  percentile,
  sleep,
  vmRssBytes,
  waCall,
} from "./fleet";

export type FleetCtx = {
  db: pg.Client;
  redis: Redis;
  redisUrl: string;
  appUrl: string;
  ghlUrl: string;
  waUrl: string;
  locations: string[];
  worker: BenchWorker;
  /** process groups of the stack's app and sandbox (for CPU accounting) */
  appPgid?: number;
  sandboxPgid?: number;
  out: (o: Record<string, unknown>) => void;
  /** ms left before the run's hard limit */
  remainingMs: () => number;
  linkConcurrency: number;
};

/** Repetitions of each measured rate (outbound, inbound) and of each recovery (BENCH_RUNS, 3). */
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));

const pick = (o: unknown, path: string): number =>
  Number(path.split(".").reduce<unknown>((x, k) => (x as Record<string, unknown> | undefined)?.[k], o));

/** One summary line: the median of each named figure over the runs, and every run's value. */
function medianOf(runs: Record<string, unknown>[], id: Record<string, unknown>, paths: string[]) {
  const med: Record<string, number> = {};
  const each: Record<string, number[]> = {};
  for (const p of paths) {
    const v = runs.map((r) => pick(r, p)).filter(Number.isFinite);
    each[p] = v;
    const sorted = [...v].sort((a, b) => a - b);
    if (sorted.length)
      med[p] =
        sorted.length % 2
          ? sorted[(sorted.length - 1) / 2]
          : round((sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2);
  }
  return { summary: `median of ${runs.length} run(s)`, ...id, median: med, runs: each };
}

const cpuGroups = (c: FleetCtx) => ({ worker: () => c.worker.pid, app: () => c.appPgid, sandbox: () => c.sandboxPgid });
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

async function linkUpTo(c: FleetCtx, linked: Linked[], n: number, budgetMs: number) {
  const meter = cpuMeter(cpuGroups(c));
  const r = await linkNumbers({
    db: c.db,
    redis: c.redis,
    waUrl: c.waUrl,
    locations: c.locations,
    from: linked.length,
    to: n,
    concurrency: c.linkConcurrency,
    timeoutMs: budgetMs,
  });
  linked.push(...r.linked);
  const cpu = meter.stop();
  const count = n - (linked.length - r.linked.length);
  log(`linked ${r.linked.length}/${count} more in ${round(r.seconds)} s (${r.failed.length} failed)`);
  if (r.failed.length) log(`first failures: ${JSON.stringify(r.failed.slice(0, 3))}`);
  return { ...r, cpu, count };
}

async function onlineCount(c: FleetCtx): Promise<number> {
  return Number((await c.db.query(`SELECT count(*)::int AS n FROM "Instance" WHERE status = 'ONLINE'`)).rows[0].n);
}

async function devices(c: FleetCtx) {
  return (
    await waCall<
      { phone: string; connected: boolean; logins: number; pairings: number; maxConcurrentConnections: number }[]
    >(c.waUrl, "GET", "/__sandbox/devices")
  ).body;
}

// ---------------------------------------------------------------- memory N[,N2…]

export async function memory(c: FleetCtx, sizes: number[]) {
  const settleMs = Number(process.env.BENCH_SETTLE_S ?? 60) * 1000;
  await sleep(15_000); // the fresh worker's start-up allocations settle
  const idle0 = cpuMeter(cpuGroups(c));
  await sleep(5000);
  const base = await c.worker.probe();
  c.out({
    instances: 0,
    rssBytes: base.vmRss,
    heapUsedBytes: base.heapUsed,
    externalBytes: base.external,
    arrayBuffersBytes: base.arrayBuffers,
    gcForced: base.gc,
    idleCpu: idle0.stop(),
  });
  const linked: Linked[] = [];
  for (const n of sizes) {
    const budget = c.remainingMs() - settleMs - 30_000;
    if (budget < 60_000) {
      log(`no time left for ${n}`);
      break;
    }
    const l = await linkUpTo(c, linked, n, budget);
    const settle = cpuMeter(cpuGroups(c));
    await sleep(settleMs);
    const idleCpu = settle.stop();
    const rssBeforeGc = vmRssBytes(c.worker.pid!);
    const p = await c.worker.probe();
    const online = await onlineCount(c);
    const connected = (await devices(c)).filter((d) => d.connected).length;
    const k = linked.length;
    c.out({
      instances: k,
      requested: n,
      onlineInPostgres: online,
      connectedAtSimulator: connected,
      linkFailures: l.failed.length,
      rescansWhileLinking: l.rescans,
      linkSeconds: round(l.seconds),
      linkPerMinute: round((l.linked.length / l.seconds) * 60),
      linkConcurrency: c.linkConcurrency,
      cpuWhileLinking: l.cpu,
      settleSeconds: settleMs / 1000,
      idleCpu,
      rss0Bytes: base.vmRss,
      rssBytes: p.vmRss,
      rssBeforeGcBytes: rssBeforeGc,
      bytesPerInstance: Math.round((p.vmRss - base.vmRss) / k),
      mbPerInstance: round((p.vmRss - base.vmRss) / k / 2 ** 20, 2),
      heapUsedBytes: p.heapUsed,
      heapPerInstanceBytes: Math.round((p.heapUsed - base.heapUsed) / k),
      externalBytes: p.external,
      arrayBuffersBytes: p.arrayBuffers,
      gcForced: p.gc,
      gcMs: p.gcMs,
    });
    if (l.failed.length > Math.max(3, n * 0.05)) break;
  }
  // BENCH_IDLE_MIN=30: the leak check — the fleet stays idle that long, RSS and heap (after a forced
  // GC) every BENCH_IDLE_STEP_MIN (5) minutes, compared with the first reading
  const idleMin = Number(process.env.BENCH_IDLE_MIN ?? 0);
  if (idleMin > 0 && linked.length) {
    const stepMs = Number(process.env.BENCH_IDLE_STEP_MIN ?? 5) * 60_000;
    const first = await c.worker.probe();
    const t0 = Date.now();
    c.out({
      phase: "idle",
      instances: linked.length,
      minutesIdle: 0,
      rssBytes: first.vmRss,
      heapUsedBytes: first.heapUsed,
    });
    while (Date.now() - t0 < idleMin * 60_000 && c.remainingMs() > stepMs + 60_000) {
      const meter = cpuMeter(cpuGroups(c));
      await sleep(Math.min(stepMs, idleMin * 60_000 - (Date.now() - t0)));
      const idleCpu = meter.stop();
      const p = await c.worker.probe();
      c.out({
        phase: "idle",
        instances: linked.length,
        minutesIdle: round((Date.now() - t0) / 60_000),
        onlineInPostgres: await onlineCount(c),
        rssBytes: p.vmRss,
        rssGrowthBytes: p.vmRss - first.vmRss,
        heapUsedBytes: p.heapUsed,
        heapGrowthBytes: p.heapUsed - first.heapUsed,
        gcMs: p.gcMs,
        idleCpu,
      });
    }
  }
}

// ---------------------------------------------------------------- recovery N[,N2…] [newid]

export async function recovery(
  c: FleetCtx,
  sizes: number[],
  opts: { newWorkerId: boolean; makeWorker: (id: string) => BenchWorker },
) {
  const linked: Linked[] = [];
  let round_ = 0;
  for (const n of sizes) {
    const budget = c.remainingMs() - 4.5 * 60_000;
    if (budget < 60_000) {
      log(`no time left for ${n}`);
      break;
    }
    const l = await linkUpTo(c, linked, n, budget);
    const results: Record<string, unknown>[] = [];
    // BENCH_RUNS kills of the same fleet, each recovered by a fresh worker
    for (let run = 1; run <= RUNS; run++) {
      if (run > 1 && c.remainingMs() < 3 * 60_000) break;
      await sleep(10_000);
      const ids = linked.map((x) => x.id);
      const before = await onlineCount(c);
      const devBefore = new Map((await devices(c)).map((d) => [d.phone, d]));

      // everything the new owner publishes: a QR or a LOGGED_OUT means someone would have to rescan
      const sub = c.redis.duplicate();
      const seen = { qrEvents: 0, statusQr: 0, loggedOut: 0, statuses: {} as Record<string, number> };
      sub.on("pmessage", (_p, _ch, raw) => {
        try {
          const ev = JSON.parse(raw) as { type: string; status?: string };
          if (ev.type === "instance.qr") seen.qrEvents++;
          if (ev.type === "instance.status" && ev.status) {
            seen.statuses[ev.status] = (seen.statuses[ev.status] ?? 0) + 1;
            if (ev.status === "QR") seen.statusQr++;
            if (ev.status === "LOGGED_OUT") seen.loggedOut++;
          }
        } catch {}
      });
      await sub.psubscribe("gw:events:*");

      const t0 = Date.now();
      await c.worker.kill9();
      const killedAt = Date.now();
      if (opts.newWorkerId) c.worker = opts.makeWorker(`bench-worker-${++round_}`);
      const meter = cpuMeter(cpuGroups(c));
      const readySeconds = await c.worker.start();
      const marks: Record<string, number> = {};
      const end = Date.now() + Math.min(5 * 60_000, c.remainingMs() - 60_000);
      let back = 0;
      while (Date.now() < end) {
        const r = await c.db.query(
          `SELECT count(*)::int AS n FROM "Instance" WHERE id = ANY($1) AND status = 'ONLINE' AND "connectedAt" > (to_timestamp($2::double precision / 1000) AT TIME ZONE 'UTC')`,
          [ids, killedAt],
        );
        back = Number(r.rows[0].n);
        const s = (Date.now() - t0) / 1000;
        for (const q of [0.5, 0.9, 0.99])
          if (back >= Math.ceil(ids.length * q) && marks[`p${q * 100}Seconds`] === undefined)
            marks[`p${q * 100}Seconds`] = round(s);
        if (back >= ids.length) break;
        await sleep(200);
      }
      const seconds = (Date.now() - t0) / 1000;
      const cpu = meter.stop();
      await sleep(2000);
      await sub.punsubscribe().catch(() => {});
      sub.disconnect();
      const devAfter = await devices(c);
      const pairingsDelta = devAfter.reduce((a, d) => a + d.pairings - (devBefore.get(d.phone)?.pairings ?? 0), 0);
      const relogged = devAfter.filter((d) => d.logins > (devBefore.get(d.phone)?.logins ?? 0)).length;
      const notOnline = await c.db.query(
        `SELECT status::text, count(*)::int AS n FROM "Instance" WHERE id = ANY($1) AND status <> 'ONLINE' GROUP BY 1`,
        [ids],
      );
      // the fresh worker holds N sessions it only logged in (no linking garbage, no key caches from
      // linking): its memory after a settle period is the plain cost of N idle ONLINE numbers
      const settle = cpuMeter(cpuGroups(c));
      await sleep(Math.min(60_000, Math.max(0, c.remainingMs() - 90_000)));
      const idleCpu = settle.stop();
      const mem = await c.worker.probe().catch(() => undefined);
      const line = {
        run,
        instances: ids.length,
        onlineBeforeKill: before,
        linkSeconds: round(l.seconds),
        linkFailures: l.failed.length,
        newWorkerId: opts.newWorkerId,
        leaseTtlMs: 15000,
        recoveredOnline: back,
        allOnline: back === ids.length,
        seconds: round(seconds),
        workerReadySeconds: round(readySeconds),
        ...marks,
        rescans: seen.qrEvents + seen.statusQr + seen.loggedOut + pairingsDelta,
        qrEvents: seen.qrEvents,
        statusQrEvents: seen.statusQr,
        loggedOutEvents: seen.loggedOut,
        pairingsDelta,
        devicesRelogged: relogged,
        statusEvents: seen.statuses,
        notOnlineAfter: Object.fromEntries(notOnline.rows.map((r) => [r.status, r.n])),
        cpuDuringRecovery: cpu,
        afterRecovery: mem && {
          settleSeconds: idleCpu.seconds,
          rssBytes: mem.vmRss,
          heapUsedBytes: mem.heapUsed,
          externalBytes: mem.external,
          arrayBuffersBytes: mem.arrayBuffers,
          gcForced: mem.gc,
          idleCpu,
        },
      };
      c.out(line);
      results.push(line);
    }
    c.out(
      medianOf(results, { instances: linked.length, newWorkerId: opts.newWorkerId }, [
        "seconds",
        "p50Seconds",
        "p90Seconds",
        "rescans",
        "workerReadySeconds",
      ]),
    );
  }
}

// ---------------------------------------------------------------- shared by outbound / inbound

async function schedule(total: number, rate: number, fire: (i: number) => Promise<void>): Promise<number> {
  const start = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const wait = start + (i * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    inflight.push(fire(i));
  }
  await Promise.all(inflight);
  return (performance.now() - start) / 1000;
}

function latencyStats(lat: number[]) {
  const s = [...lat].sort((a, b) => a - b);
  return { p50ms: percentile(s, 0.5), p90ms: percentile(s, 0.9), p99ms: percentile(s, 0.99), maxMs: percentile(s, 1) };
}

// ---------------------------------------------------------------- outbound K rates

/** Links K numbers, gives each a contact of its own (sticky to it), and sets their sessions up. */
async function outboundSetup(c: FleetCtx, k: number) {
  const linked: Linked[] = [];
  const l = await linkUpTo(c, linked, k, c.remainingMs() - 4 * 60_000);
  if (!linked.length) throw new Error("nothing linked");
  // one contact per number, sticky to it (what an earlier conversation leaves behind), so the
  // Delivery URL spreads the messages over every linked number
  for (const [i, n] of linked.entries()) {
    await waCall(c.waUrl, "POST", "/__sandbox/phones", { phone: contactPhone(i) });
    await c.db.query(
      `INSERT INTO "Contact"(id, "locationId", phone, "stickyInstanceId", "updatedAt") VALUES (gen_random_uuid()::text, $1, $2, $3, now())`,
      [n.locationId, `+${contactPhone(i)}`, n.id],
    );
  }
  const send = async (i: number, text: string) => {
    const n = linked[i % linked.length];
    const r = await fetch(`${c.ghlUrl}/__sandbox/locations/${n.locationId}/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ phone: `+${contactPhone(i % linked.length)}`, message: text }),
    });
    const b = (await r.json()) as { deliveryStatus?: number | null };
    if (r.status !== 200 || b.deliveryStatus !== 200)
      throw new Error(`GHL sim ${r.status}, delivery ${b.deliveryStatus}`);
  };
  const inboxes = async (tag: string) => {
    const at = new Map<number, number>();
    const re = new RegExp(`^${tag}-(\\d+)$`);
    for (let i = 0; i < linked.length; i++) {
      const box = (
        await waCall<{ text?: string; at: string }[]>(c.waUrl, "GET", `/__sandbox/phones/${contactPhone(i)}/inbox`)
      ).body;
      for (const m of box) {
        const x = m.text ? re.exec(m.text) : null;
        if (x) at.set(Number(x[1]), Date.parse(m.at));
      }
    }
    return at;
  };
  const collect = (tag: string, total: number, maxMs: number) => collectArrivals(() => inboxes(tag), total, maxMs);

  // warm-up: the first message to each contact also looks the contact up (onWhatsApp) and sets
  // up the Signal session; the measured runs are the steady state after that
  const w0 = performance.now();
  let warmErr = 0;
  await schedule(linked.length, 20, (i) => send(i, `warm-${i}`).catch(() => void warmErr++));
  const warm = await collect("warm", linked.length, 120_000);
  log(
    `warm-up: ${warm.size}/${linked.length} delivered in ${round((performance.now() - w0) / 1000)} s (${warmErr} errors)`,
  );
  return { linked, l, send, collect };
}

export async function outbound(c: FleetCtx, k: number, rates: number[], seconds: number) {
  const { linked, l, send, collect } = await outboundSetup(c, k);
  await measureRates(c, "r", rates, seconds, send, collect, "deliveredPerSecond", (r) => ({
    numbers: linked.length,
    linkSeconds: round(l.seconds),
    sent: r.total,
    postErrors: r.errors,
    firstError: r.firstError,
    postsPerSecond: r.sendsPerSecond,
    delivered: r.arrived,
    deliveredPerSecond: r.arrivedPerSecond,
    latency: r.latency,
    ghlSimPostLatency: r.sendLatency,
    cpu: r.cpu,
    workerPauses: r.workerPauses,
  }));
}

/**
 * The worker's own send capacity: N messages already accepted (QUEUED rows, as the Delivery URL
 * leaves them) spread over the K numbers, every send loop woken at once, and the time until all N
 * are decrypted in the contacts' inboxes. The GHL simulator and the app are idle meanwhile; the
 * WhatsApp simulator (decrypting each message) and Postgres still share the machine.
 */
export async function drain(c: FleetCtx, k: number, total: number) {
  const { linked, l, collect } = await outboundSetup(c, k);
  const runs: Record<string, unknown>[] = [];
  for (let run = 1; run <= RUNS; run++) {
    if (c.remainingMs() < 2 * 60_000) break;
    const tag = `d${run}x${Date.now() % 100000}`;
    await c.db.query(
      `INSERT INTO "Message"(id, "locationId", "instanceId", "contactId", direction, source, type, text, status, "createdAt", "updatedAt")
       SELECT gen_random_uuid()::text, i."locationId", i.id, ct.id, 'OUTBOUND', 'GHL', 'text', $1 || '-' || g, 'QUEUED', now() + (g || ' microseconds')::interval, now()
       FROM generate_series(0, $2::int - 1) g
       JOIN LATERAL (SELECT * FROM unnest($3::text[]) WITH ORDINALITY AS x(id, n)) x ON x.n = (g % $4::int) + 1
       JOIN "Instance" i ON i.id = x.id
       JOIN "Contact" ct ON ct."stickyInstanceId" = i.id`,
      [tag, total, linked.map((n) => n.id), linked.length],
    );
    let t0 = 0;
    const {
      value: at,
      cpu,
      workerPauses,
    } = await watched(c, tag, async () => {
      t0 = Date.now();
      for (const n of linked) await publishOutboundQueued(c.redis, n.id);
      return collect(tag, total, Math.min(300_000, c.remainingMs() - 60_000));
    });
    const last = Math.max(...at.values());
    const line = {
      numbers: linked.length,
      linkSeconds: round(l.seconds),
      run,
      queued: total,
      delivered: at.size,
      deliveredPerSecond: at.size ? round(at.size / ((last - t0) / 1000)) : 0,
      seconds: round((last - t0) / 1000),
      cpu,
      workerPauses,
    };
    c.out(line);
    runs.push(line);
  }
  if (runs.length)
    c.out(medianOf(runs, { numbers: linked.length, queued: total }, ["deliveredPerSecond", "cpu.workerPct"]));
}

// ---------------------------------------------------------------- inbound K rates

export async function inbound(c: FleetCtx, k: number, rates: number[], seconds: number) {
  const linked: Linked[] = [];
  const l = await linkUpTo(c, linked, k, c.remainingMs() - 4 * 60_000);
  if (!linked.length) throw new Error("nothing linked");
  const send = async (i: number, text: string) => {
    const j = i % linked.length;
    const r = await waCall(c.waUrl, "POST", `/__sandbox/phones/${contactPhone(j)}/send`, { to: linked[j].phone, text });
    if (r.status !== 200) throw new Error(`send ${r.status} ${JSON.stringify(r.body)}`);
  };
  const received = async (tag: string) => {
    const at = new Map<number, number>();
    const re = new RegExp(`^${tag}-(\\d+)$`);
    for (const loc of c.locations) {
      const r = await fetch(`${c.ghlUrl}/__sandbox/locations/${loc}/inbound`);
      const { messages } = (await r.json()) as { messages: { message?: string; at: string }[] };
      for (const m of messages) {
        const x = m.message ? re.exec(m.message) : null;
        if (x && !at.has(Number(x[1]))) at.set(Number(x[1]), Date.parse(m.at));
      }
    }
    return at;
  };
  const collect = (tag: string, total: number, maxMs: number) => collectArrivals(() => received(tag), total, maxMs);

  // warm-up: the first message of each contact creates the GHL contact and conversation (four
  // GHL calls); later ones are one call each
  const w0 = performance.now();
  let warmErr = 0;
  await schedule(linked.length, 10, (i) => send(i, `warm-${i}`).catch(() => void warmErr++));
  const warm = await collect("warm", linked.length, 120_000);
  log(
    `warm-up: ${warm.size}/${linked.length} in GHL in ${round((performance.now() - w0) / 1000)} s (${warmErr} errors)`,
  );

  await measureRates(c, "i", rates, seconds, send, collect, "receivedPerSecond", (r) => ({
    numbers: linked.length,
    locations: c.locations.length,
    linkSeconds: round(l.seconds),
    sent: r.total,
    sendErrors: r.errors,
    firstError: r.firstError,
    sendsPerSecond: r.sendsPerSecond,
    receivedByGhl: r.arrived,
    receivedPerSecond: r.arrivedPerSecond,
    latency: r.latency,
    simSendLatency: r.sendLatency,
    cpu: r.cpu,
    workerPauses: r.workerPauses,
  }));
}

// ---------------------------------------------------------------- shared by outbound and inbound

/** Polls `read` (index → arrival time) until `total` arrived, nothing new for 30 s, or `maxMs`. */
async function collectArrivals(read: () => Promise<Map<number, number>>, total: number, maxMs: number) {
  let at = new Map<number, number>();
  let last = -1;
  let stale = Date.now();
  const end = Date.now() + maxMs;
  while (Date.now() < end) {
    at = await read();
    if (at.size >= total) break;
    if (at.size !== last) {
      last = at.size;
      stale = Date.now();
    } else if (Date.now() - stale > 30_000) break; // nothing new for 30 s
    await sleep(1000);
  }
  return at;
}

/**
 * Each rate measured RUNS times (one JSON line per run, described by `line`), then a summary line
 * with the medians of the throughput figure `rateKey`, p50/p99 latency and worker CPU.
 */
async function measureRates(
  c: FleetCtx,
  tagPrefix: string,
  rates: number[],
  seconds: number,
  send: (i: number, text: string) => Promise<void>,
  collect: (tag: string, total: number, maxMs: number) => Promise<Map<number, number>>,
  rateKey: string,
  line: (r: Awaited<ReturnType<typeof measureRate>>) => Record<string, unknown> & { numbers: number },
) {
  // a warm-up at the first rate, printed but not counted: the first seconds after the step from
  // the linking phase's trickle to the full rate are a transient (seen: median 159 ms over the
  // first 0.5 s of an uncounted-for first run, 15 ms after 4 s)
  if (rates.length && c.remainingMs() > 3 * 60_000) {
    const w = await measureRate(c, `${tagPrefix}warm${Date.now() % 100000}`, rates[0], 5, send, collect);
    const { numbers, ...rest } = line(w);
    c.out({ warmup: true, numbers, targetRate: rates[0], seconds: 5, latency: rest.latency, cpu: rest.cpu });
  }
  for (const rate of rates) {
    const runs: Record<string, unknown>[] = [];
    for (let run = 1; run <= RUNS; run++) {
      if (c.remainingMs() < 2 * 60_000) break;
      const r = await measureRate(c, `${tagPrefix}${rate}x${Date.now() % 100000}`, rate, seconds, send, collect);
      const { numbers, ...rest } = line(r);
      const l = { numbers, targetRate: rate, seconds, run, ...rest };
      c.out(l);
      runs.push(l);
    }
    if (runs.length)
      c.out(
        medianOf(runs, { numbers: runs[0].numbers, targetRate: rate }, [
          rateKey,
          "latency.p50ms",
          "latency.p99ms",
          "cpu.workerPct",
        ]),
      );
  }
}

/** Sends `rate × seconds` messages tagged `<tag>-<i>` at that rate, then waits for their arrival. */
/**
 * Runs a measured phase with the machine watched: CPU of each process group, the worker's
 * event-loop delay and GC pauses, and (BENCH_WORKER_CPU_PROF=<dir>) a CPU profile of the worker
 * over this phase only.
 */
async function watched<T>(c: FleetCtx, tag: string, phase: () => Promise<T>) {
  const profDir = process.env.BENCH_WORKER_CPU_PROF;
  if (profDir) await c.worker.profile("start");
  await c.worker.pauses("start");
  const meter = cpuMeter(cpuGroups(c));
  const value = await phase();
  const cpu = meter.stop();
  const workerPauses = await c.worker.pauses("stop");
  if (profDir) {
    const file = path.join(profDir, `worker-${tag}.cpuprofile`);
    await c.worker.profile("stop", file);
    log(`worker CPU profile of ${tag}: ${file}`);
  }
  return { value, cpu, workerPauses };
}

async function measureRate(
  c: FleetCtx,
  tag: string,
  rate: number,
  seconds: number,
  send: (i: number, text: string) => Promise<void>,
  collect: (tag: string, total: number, maxMs: number) => Promise<Map<number, number>>,
) {
  const total = Math.round(rate * seconds);
  const t0 = new Array<number>(total);
  const sendLat: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const {
    value: { sendSeconds, at },
    cpu,
    workerPauses,
  } = await watched(c, tag, async () => {
    const sendSeconds = await schedule(total, rate, async (i) => {
      t0[i] = Date.now();
      const p0 = performance.now();
      try {
        await send(i, `${tag}-${i}`);
      } catch (e) {
        errors++;
        firstError ??= e instanceof Error ? e.message : String(e);
      }
      sendLat.push(performance.now() - p0);
    });
    return { sendSeconds, at: await collect(tag, total, Math.min(180_000, c.remainingMs() - 60_000)) };
  });
  // BENCH_LATENCY_TRACE=<dir>: every message's send time and latency, to see whether a tail is
  // a few pauses (clustered) or spread out
  if (process.env.BENCH_LATENCY_TRACE) {
    writeFileSync(
      path.join(process.env.BENCH_LATENCY_TRACE, `${tag}.json`),
      JSON.stringify([...at.entries()].map(([i, a]) => [i, t0[i], a - t0[i]])),
    );
  }
  const lastAt = Math.max(...at.values());
  return {
    total,
    errors,
    firstError,
    cpu,
    workerPauses,
    arrived: at.size,
    sendsPerSecond: round(total / sendSeconds),
    arrivedPerSecond: at.size ? round(at.size / ((lastAt - t0[0]) / 1000)) : 0,
    latency: latencyStats([...at.entries()].map(([i, a]) => a - t0[i])),
    sendLatency: latencyStats(sendLat),
  };
}
