// `npm run bench -- rebalance N`: one worker holds N linked numbers, a second worker joins, and
// the fleet rebalances (docs/architecture.md#sharing-numbers-between-workers). Measured: the time
// until the new worker holds its share within ±10 % (and, with BENCH_REBALANCE_UNTIL=settled, its
// exact share), handovers per minute, numbers without an owner meanwhile, and a steady trickle of
// messages both ways through some of the numbers while they move: GHL simulator → app → worker →
// WhatsApp simulator, and contact → WhatsApp simulator → worker → GHL simulator; latency p50/p99,
// lost and duplicated. Also the Redis commands and bytes (INFO commandstats, INFO stats) and
// Postgres transactions, rows and WAL (pg_stat_database, pg_stat_wal) of the whole stack per
// second: 30 s with N idle numbers ("quiet"), 60 s with the trickle on one worker ("alone"), and
// during the handovers; and what the database holds at the end — for docs/scaling.md.
// BENCH_TRICKLE_NUMBERS (20): numbers carrying the trickle, spread evenly over the N;
// BENCH_TRICKLE_RATE (1): messages per second in each direction; HANDOVERS_PER_MINUTE passes
// through to both workers (unset: the product's default).
import type { Redis } from "ioredis";
import {
  type BenchWorker,
  contactPhone,
  cpuMeter,
  linkNumbers,
  log,
  percentile,
  sleep,
  vmRssBytes,
  waCall,
} from "./fleet";
import type { FleetCtx } from "./fleet-modes";

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

function stats(lat: number[]) {
  const s = [...lat].sort((a, b) => a - b);
  return {
    n: s.length,
    p50ms: percentile(s, 0.5),
    p90ms: percentile(s, 0.9),
    p99ms: percentile(s, 0.99),
    maxMs: percentile(s, 1),
  };
}

/** Redis command counts (INFO commandstats) since the last reset: total and the busiest commands. */
async function commandStats(r: Redis) {
  const info = await r.info("commandstats");
  const by: Record<string, number> = {};
  let usec = 0;
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    by[m[1]] = Number(m[2]);
    usec += Number(m[3]);
  }
  const total = Object.values(by).reduce((a, b) => a + b, 0);
  return { total, usec, by };
}

async function redisMemory(r: Redis) {
  const info = await r.info("memory");
  const used = Number(/^used_memory:(\d+)/m.exec(info)?.[1]);
  const keys = await r.dbsize();
  return { usedMemoryBytes: used, keysInDb: keys };
}

/** Bytes in and out of Redis since the last CONFIG RESETSTAT (INFO stats). */
async function redisNet(r: Redis) {
  const info = await r.info("stats");
  return {
    inBytes: Number(/^total_net_input_bytes:(\d+)/m.exec(info)?.[1]),
    outBytes: Number(/^total_net_output_bytes:(\d+)/m.exec(info)?.[1]),
  };
}

/** WAL written by the whole Postgres cluster (pg_stat_wal; the bench's own server, Postgres 14+). */
async function walBytes(db: FleetCtx["db"]): Promise<number> {
  try {
    return Number((await db.query(`SELECT wal_bytes FROM pg_stat_wal`)).rows[0].wal_bytes);
  } catch {
    return NaN;
  }
}

type PgCounters = {
  xact: number;
  fetched: number;
  inserted: number;
  updated: number;
  deleted: number;
  backends: number;
};
async function pgCounters(db: FleetCtx["db"]): Promise<PgCounters> {
  const r = await db.query(
    `SELECT xact_commit + xact_rollback AS xact, tup_fetched AS fetched, tup_inserted AS inserted, tup_updated AS updated, tup_deleted AS deleted, numbackends AS backends
     FROM pg_stat_database WHERE datname = current_database()`,
  );
  const row = r.rows[0];
  return {
    xact: Number(row.xact),
    fetched: Number(row.fetched),
    inserted: Number(row.inserted),
    updated: Number(row.updated),
    deleted: Number(row.deleted),
    backends: Number(row.backends),
  };
}

/** Redis and Postgres work of the whole stack over an interval, per second. */
async function serverMeter(c: FleetCtx) {
  await c.redis.config("RESETSTAT");
  // pg_stat_database is updated by backends at most every 0.5 s (and at idle): a short pause first
  await sleep(600);
  const pg0 = await pgCounters(c.db);
  const wal0 = await walBytes(c.db);
  const t0 = performance.now();
  return async (ownRedisCalls: number) => {
    await sleep(600);
    const secs = (performance.now() - t0) / 1000;
    const cs = await commandStats(c.redis);
    const pg1 = await pgCounters(c.db);
    const wal1 = await walBytes(c.db);
    const net = await redisNet(c.redis);
    const top = Object.entries(cs.by)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([k, v]) => [k, round(v / secs)]);
    const redisTotal = cs.total - ownRedisCalls;
    return {
      seconds: round(secs),
      redis: {
        commandsPerSecond: round(redisTotal / secs),
        benchOwnCallsExcluded: ownRedisCalls,
        cpuMsPerSecond: round(cs.usec / 1000 / secs),
        netInBytesPerSecond: Math.round(net.inBytes / secs),
        netOutBytesPerSecond: Math.round(net.outBytes / secs),
        top: Object.fromEntries(top),
        ...(await redisMemory(c.redis)),
      },
      postgres: {
        transactionsPerSecond: round((pg1.xact - pg0.xact) / secs),
        rowsFetchedPerSecond: round((pg1.fetched - pg0.fetched) / secs),
        rowsInsertedPerSecond: round((pg1.inserted - pg0.inserted) / secs),
        rowsUpdatedPerSecond: round((pg1.updated - pg0.updated) / secs),
        rowsDeletedPerSecond: round((pg1.deleted - pg0.deleted) / secs),
        walBytesPerSecond: Math.round((wal1 - wal0) / secs),
        connections: pg1.backends,
      },
    };
  };
}

export async function rebalance(c: FleetCtx, k: number, makeWorker: (id: string) => BenchWorker) {
  const workerA = c.worker;
  const until = process.env.BENCH_REBALANCE_UNTIL === "settled" ? "settled" : "share10";
  const trickleN = Math.min(k, Number(process.env.BENCH_TRICKLE_NUMBERS ?? 20));
  const rate = Number(process.env.BENCH_TRICKLE_RATE ?? 1);
  const handoversSetting = process.env.HANDOVERS_PER_MINUTE ? Number(process.env.HANDOVERS_PER_MINUTE) : 0;

  // ------------------------------------------------ N numbers on the one worker
  const linkMeter = cpuMeter({ worker: () => workerA.pid });
  const l = await linkNumbers({
    db: c.db,
    redis: c.redis,
    waUrl: c.waUrl,
    locations: c.locations,
    from: 0,
    to: k,
    concurrency: c.linkConcurrency,
    timeoutMs: Math.max(60_000, c.remainingMs() - 6 * 60_000),
  });
  const linkCpu = linkMeter.stop();
  const linked = l.linked;
  log(`linked ${linked.length}/${k} in ${round(l.seconds)} s (${l.failed.length} failed)`);
  if (l.failed.length) log(`first failures: ${JSON.stringify(l.failed.slice(0, 3))}`);
  if (linked.length < k * 0.95) throw new Error(`only ${linked.length} of ${k} linked`);
  const ids = linked.map((x) => x.id);

  // ------------------------------------------------ the trickle's numbers and contacts
  // spread over the fleet: a worker hands over the sessions it opened first, so numbers taken
  // from the start only would all move in the first minutes
  const step = linked.length / trickleN;
  const tn = Array.from({ length: trickleN }, (_, j) => linked[Math.floor(j * step)]);
  for (const [j, n] of tn.entries()) {
    await waCall(c.waUrl, "POST", "/__sandbox/phones", { phone: contactPhone(j) });
    await c.db.query(
      `INSERT INTO "Contact"(id, "locationId", phone, "stickyInstanceId", "updatedAt") VALUES (gen_random_uuid()::text, $1, $2, $3, now())`,
      [n.locationId, `+${contactPhone(j)}`, n.id],
    );
  }
  const sendOut = async (j: number, text: string) => {
    const n = tn[j];
    const r = await fetch(`${c.ghlUrl}/__sandbox/locations/${n.locationId}/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ phone: `+${contactPhone(j)}`, message: text }),
    });
    const b = (await r.json()) as { deliveryStatus?: number | null };
    if (r.status !== 200 || b.deliveryStatus !== 200)
      throw new Error(`GHL sim ${r.status}, delivery ${b.deliveryStatus}`);
  };
  const sendIn = async (j: number, text: string) => {
    const r = await waCall(c.waUrl, "POST", `/__sandbox/phones/${contactPhone(j)}/send`, { to: tn[j].phone, text });
    if (r.status !== 200) throw new Error(`send ${r.status} ${JSON.stringify(r.body)}`);
  };
  // every arrival of a tagged message: tag index → arrival times (more than one = duplicated)
  const outArrivals = async (re: RegExp) => {
    const at = new Map<number, number[]>();
    for (let j = 0; j < tn.length; j++) {
      for (const m of (
        await waCall<{ text?: string; at: string }[]>(c.waUrl, "GET", `/__sandbox/phones/${contactPhone(j)}/inbox`)
      ).body) {
        const x = m.text ? re.exec(m.text) : null;
        if (x) at.set(Number(x[1]), [...(at.get(Number(x[1])) ?? []), Date.parse(m.at)]);
      }
    }
    return at;
  };
  const inArrivals = async (re: RegExp) => {
    const at = new Map<number, number[]>();
    for (const loc of new Set(tn.map((n) => n.locationId))) {
      const { messages } = (await (await fetch(`${c.ghlUrl}/__sandbox/locations/${loc}/inbound`)).json()) as {
        messages: { message?: string; at: string }[];
      };
      for (const m of messages) {
        const x = m.message ? re.exec(m.message) : null;
        if (x) at.set(Number(x[1]), [...(at.get(Number(x[1])) ?? []), Date.parse(m.at)]);
      }
    }
    return at;
  };
  const waitAll = async (read: () => Promise<Map<number, number[]>>, total: number, maxMs: number) => {
    const end = Date.now() + maxMs;
    let at = await read();
    while (at.size < total && Date.now() < end) {
      await sleep(1000);
      at = await read();
    }
    return at;
  };
  // warm-up: each contact's first message both ways (contact lookup, Signal session, GHL contact)
  for (let j = 0; j < tn.length; j++) {
    await sendOut(j, `wo-${j}`).catch(() => {});
    await sendIn(j, `wi-${j}`).catch(() => {});
  }
  const wo = await waitAll(() => outArrivals(/^wo-(\d+)$/), tn.length, 120_000);
  const wi = await waitAll(() => inArrivals(/^wi-(\d+)$/), tn.length, 120_000);
  log(`warm-up: ${wo.size}/${tn.length} out, ${wi.size}/${tn.length} in`);

  // 30 s with no messages at all: what N idle numbers cost Redis and Postgres
  const quietEnd = await serverMeter(c);
  const quietCpu = cpuMeter({ workerA: () => workerA.pid, app: () => c.appPgid, sandbox: () => c.sandboxPgid });
  await sleep(30_000);
  const quiet = { ...(await quietEnd(0)), cpu: quietCpu.stop() };
  c.out({ phase: "quiet", numbers: linked.length, ...quiet });

  // ------------------------------------------------ the trickle (runs until told to stop)
  const sent = { out: new Map<number, number>(), in: new Map<number, number>() };
  const errors = { out: 0, in: 0, firstError: undefined as string | undefined };
  let trickling = true;
  const inflight: Promise<void>[] = [];
  const trickle = (async () => {
    const t0 = performance.now();
    for (let i = 0; trickling; i++) {
      const wait = t0 + (i * 1000) / rate - performance.now();
      if (wait > 0) await sleep(wait);
      const j = i % tn.length;
      for (const [dir, fn] of [
        ["out", sendOut],
        ["in", sendIn],
      ] as const) {
        const at = Date.now();
        inflight.push(
          fn(j, `r${dir[0]}-${i}`).then(
            () => void sent[dir].set(i, at),
            (e) => {
              errors[dir]++;
              errors.firstError ??= e instanceof Error ? e.message : String(e);
            },
          ),
        );
      }
    }
  })();

  // ------------------------------------------------ owners, once a second
  const ownersOf = async () => (await c.redis.mget(ids.map((id) => `gw:lease:${id}`))) as (string | null)[];
  let ownRedisCalls = 0;
  // 60 s alone: the baseline of the trickle's latency and of the stack's work with N numbers
  const devBefore = new Map(
    (
      await waCall<{ phone: string; pairings: number; logins: number }[]>(c.waUrl, "GET", "/__sandbox/devices")
    ).body.map((d) => [d.phone, d]),
  );
  const aloneEnd = await serverMeter(c);
  const aloneCpu = cpuMeter({ workerA: () => workerA.pid, app: () => c.appPgid, sandbox: () => c.sandboxPgid });
  await sleep(60_000);
  const alone = { ...(await aloneEnd(0)), cpu: aloneCpu.stop() };
  c.out({ phase: "alone", numbers: linked.length, trickleNumbers: tn.length, trickleRatePerDirection: rate, ...alone });

  const workerB = makeWorker("bench-worker-2");
  const startedAt = Date.now();
  const during = await serverMeter(c);
  const cpu = cpuMeter({
    workerA: () => workerA.pid,
    workerB: () => workerB.pid,
    app: () => c.appPgid,
    sandbox: () => c.sandboxPgid,
  });
  const readySeconds = await workerB.start();
  log(`second worker ready in ${round(readySeconds)} s`);
  const target = Math.floor(ids.length / 2); // two workers of weight 1: fair-share.ts targetShares gives B ⌊N/2⌋ (ties to the smaller id, "bench-worker")
  const lastOwner = new Map<string, string | null>();
  const moves: { id: string; from: string | null; to: string | null; at: number }[] = [];
  const unownedSince = new Map<string, number>();
  const gaps: number[] = [];
  let maxUnowned = 0;
  let share10At: number | undefined;
  let settledAt: number | undefined;
  let firstMoveAt: number | undefined;
  let held = { a: ids.length, b: 0 };
  const limitAt = Date.now() + c.remainingMs() - 4 * 60_000;
  let lastLog = 0;
  while (Date.now() < limitAt) {
    if (!workerB.alive || !workerA.alive) throw new Error("a worker exited during the rebalance");
    const owners = await ownersOf();
    ownRedisCalls++;
    const now = Date.now();
    held = { a: 0, b: 0 };
    let unowned = 0;
    owners.forEach((o, i) => {
      const id = ids[i];
      if (o === workerA.workerId) held.a++;
      else if (o === workerB.workerId) held.b++;
      else unowned++;
      const prev = lastOwner.has(id) ? lastOwner.get(id)! : workerA.workerId;
      if (o === null && !unownedSince.has(id)) unownedSince.set(id, now);
      if (o !== null && o !== prev) {
        moves.push({ id, from: prev, to: o, at: now });
        firstMoveAt ??= now;
        const since = unownedSince.get(id);
        if (since !== undefined) gaps.push(now - since);
      }
      if (o !== null) unownedSince.delete(id);
      if (o !== null) lastOwner.set(id, o);
    });
    maxUnowned = Math.max(maxUnowned, unowned);
    if (share10At === undefined && held.b >= Math.ceil(target * 0.9)) share10At = now;
    if (settledAt === undefined && held.b >= target - 1 && held.a <= ids.length - target + 1) settledAt = now;
    if (now - lastLog > 30_000) {
      lastLog = now;
      log(
        `${round((now - startedAt) / 1000, 0)} s: A ${held.a}, B ${held.b} (target ${target}), unowned ${unowned}, moves ${moves.length}`,
      );
    }
    if (until === "share10" ? share10At !== undefined : settledAt !== undefined) break;
    await sleep(1000);
  }
  const endAt = Date.now();
  const cpuDuring = cpu.stop();
  const server = await during(ownRedisCalls);
  trickling = false;
  await trickle;
  await Promise.all(inflight);
  const stoppedAt = Date.now();

  // ------------------------------------------------ what arrived
  const ao = await waitAll(() => outArrivals(/^ro-(\d+)$/), sent.out.size, 120_000);
  const ai = await waitAll(() => inArrivals(/^ri-(\d+)$/), sent.in.size, 120_000);
  await sleep(5000); // late duplicates
  const [fo, fi] = [await outArrivals(/^ro-(\d+)$/), await inArrivals(/^ri-(\d+)$/)];
  void ao;
  void ai;
  const movedIds = new Set(moves.map((m) => m.id));
  const tally = (s: Map<number, number>, at: Map<number, number[]>) => {
    const all: number[] = [],
      before: number[] = [],
      handover: number[] = [],
      movedDuring: number[] = [];
    let lost = 0,
      duplicated = 0;
    for (const [i, t0] of s) {
      const a = at.get(i);
      if (!a) {
        lost++;
        continue;
      }
      duplicated += a.length - 1;
      const lat = Math.min(...a) - t0;
      all.push(lat);
      if (t0 < startedAt) before.push(lat);
      else if (t0 <= endAt) {
        handover.push(lat);
        if (movedIds.has(tn[i % tn.length].id)) movedDuring.push(lat);
      }
    }
    return {
      sent: s.size,
      arrived: s.size - lost,
      lost,
      duplicated,
      latencyAlone: stats(before),
      latencyDuringHandover: stats(handover),
      latencyMovedNumbersDuringHandover: stats(movedDuring),
      latencyAll: stats(all),
    };
  };
  const devAfter = (
    await waCall<{ phone: string; pairings: number; logins: number; maxConcurrentConnections: number }[]>(
      c.waUrl,
      "GET",
      "/__sandbox/devices",
    )
  ).body;
  const pairingsDelta = devAfter.reduce((a, d) => a + d.pairings - (devBefore.get(d.phone)?.pairings ?? 0), 0);
  const online = Number(
    (await c.db.query(`SELECT count(*)::int AS n FROM "Instance" WHERE id = ANY($1) AND status = 'ONLINE'`, [ids]))
      .rows[0].n,
  );
  const moveTimes = moves.filter((m) => m.from === workerA.workerId && m.to === workerB.workerId).map((m) => m.at);
  const span = moveTimes.length > 1 ? (moveTimes[moveTimes.length - 1] - moveTimes[0]) / 60_000 : NaN;
  const g = [...gaps].sort((a, b) => a - b);
  c.out({
    numbers: linked.length,
    requested: k,
    linkSeconds: round(l.seconds),
    linkPerMinute: round((linked.length / l.seconds) * 60),
    linkFailures: l.failed.length,
    cpuWhileLinking: linkCpu,
    handoversPerMinuteSetting:
      handoversSetting ||
      `default (max(1, 5 % of ${linked.length}) = ${Math.max(1, Math.floor(linked.length * 0.05))})`,
    until,
    targetOfNewWorker: target,
    heldAtEnd: held,
    secondWorkerReadySeconds: round(readySeconds),
    firstHandoverSeconds: firstMoveAt ? round((firstMoveAt - startedAt) / 1000) : null,
    share10Seconds: share10At ? round((share10At - startedAt) / 1000) : null,
    settledSeconds: settledAt ? round((settledAt - startedAt) / 1000) : null,
    handovers: moveTimes.length,
    movesOther: moves.length - moveTimes.length,
    handoversPerMinute: round(moveTimes.length / ((endAt - startedAt) / 60_000)),
    handoversPerMinuteBetweenFirstAndLast: round((moveTimes.length - 1) / span),
    unownedMax: maxUnowned,
    unownedGap: { p50ms: percentile(g, 0.5), p99ms: percentile(g, 0.99), maxMs: percentile(g, 1) },
    onlineAfter: online,
    pairingsDelta,
    maxConcurrentConnectionsPerNumber: Math.max(...devAfter.map((d) => d.maxConcurrentConnections ?? 0)),
    trickle: {
      numbers: tn.length,
      movedNumbers: tn.filter((n) => movedIds.has(n.id)).length,
      ratePerDirection: rate,
      seconds: round((stoppedAt - startedAt) / 1000),
      sendErrors: errors,
      ghlToWhatsApp: tally(sent.out, fo),
      whatsAppToGhl: tally(sent.in, fi),
    },
    cpuDuringHandover: cpuDuring,
    serverDuringHandover: server,
    alone: { redis: alone.redis, postgres: alone.postgres },
    quiet: { redis: quiet.redis, postgres: quiet.postgres },
    postgresStorage: await storage(c.db),
    rss: {
      workerA: workerA.alive ? vmRssBytes(workerA.pid!) : null,
      workerB: workerB.alive ? vmRssBytes(workerB.pid!) : null,
    },
  });
  await workerB.kill9();
}

/** What the bench database holds: its size and the largest tables with their rows (estimates). */
async function storage(db: FleetCtx["db"]) {
  const size = Number((await db.query(`SELECT pg_database_size(current_database()) AS b`)).rows[0].b);
  const t = await db.query(
    `SELECT relname AS t, pg_total_relation_size(relid) AS b, n_live_tup AS n FROM pg_stat_user_tables ORDER BY pg_total_relation_size(relid) DESC LIMIT 6`,
  );
  return {
    databaseBytes: size,
    tables: Object.fromEntries(t.rows.map((r) => [r.t, { bytes: Number(r.b), rows: Number(r.n) }])),
  };
}
