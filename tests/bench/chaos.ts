// `npm run chaos -- <messages> [options]` (scripts/chaos.mjs starts this): exactly once under
// crashes and outages, measured at the far ends. The whole stack on the sandbox, with a Postgres
// cluster and a Redis server of its own (so it can kill them), one location installed through
// OAuth, a few numbers linked by QR. Then, interleaved, <messages> GHL → WhatsApp (the GHL
// simulator's conversation fires the signed Delivery URL) and <messages> WhatsApp → GHL (simulated
// contacts write), while the worker is SIGKILLed and restarted, Redis is killed and comes back
// EMPTY, Postgres is stopped for a while and GHL answers bursts of 429 and 5xx. Contacts send
// delivered/read receipts for what they received. At the end (after a bounded settle) it counts,
// per direction: sent, lost, duplicated, out of order (per contact), statuses lost; rescans, the
// most connections a number had at once, and how long each fault took to recover from. One JSON
// line, then a human summary; exit 1 when any count is not zero (`--report`: exit 0).
//
// Options (defaults in brackets):
//   --seed N [1]            all randomness (contacts, order of faults, jitter, downtimes) from it
//   --kills N [10]          worker SIGKILLs (restarted after a random 1–6 s)
//   --redis-wipes M [2]     Redis SIGKILLed and restarted empty (no persistence)
//   --pg-stops K [2]        Postgres stopped (pg_ctl stop -m fast) for --pg-stop-s [10] seconds
//   --ghl-bursts B [4]      GHL API bursts: alternately 429 and 5xx (500/502/503), --burst-size [8] calls each
//   --numbers [2] --contacts [4]     numbers linked (one location) and contacts writing to them
//   --rate R [1]            messages per second in each direction (the run lasts at least messages/R s)
//   --text-delay-ms [300]   the product's TEXT_DELAY_MS (pacing per number) for the run
//   --settle-s [180]        at most this long after the traffic for everything to arrive, and
//   --stale-s [90]          no longer than this once nothing moves (no arrival, status or retry)
//   --pg-immediate          stop Postgres as a crash (pg_ctl -m immediate) rather than cleanly (-m fast)
//   --order-advisory        out-of-order counts are printed but do not fail the run (for
//                           investigating; npm test's step no longer uses it)
//   --report                exit 0 whatever the counts (for reporting)
//   CHAOS_LIMIT_MIN [30]    hard limit for the whole run; then everything is killed
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { ensureDatabase, root } from "../../scripts/lib/bootstrap.mjs";
import { startPrivatePostgres, startPrivateRedis } from "../../scripts/lib/private-services.mjs";
import { freePort, startStack } from "../../scripts/lib/stack.mjs";
import { type FaultRecord, type InboundArrival, mulberry32, type OutboundArrival, tally } from "./chaos-tally";
import {
  BenchWorker,
  contactPhone,
  cpuMeter,
  installLocations,
  killAllWorkers,
  linkNumbers,
  log,
  sleep,
  waCall,
} from "./fleet";

// ---------------------------------------------------------------- options

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const opt = (name: string, def: number) => {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(argv[i + 1]);
  if (!Number.isFinite(v)) throw new Error(`--${name} needs a number`);
  return v;
};
const positional = argv.filter(
  (a, i) =>
    !a.startsWith("--") &&
    !(
      i > 0 &&
      argv[i - 1].startsWith("--") &&
      !["--report", "--pg-immediate", "--order-advisory"].includes(argv[i - 1])
    ),
);
const o = {
  messages: Number(positional[0] ?? 300),
  seed: opt("seed", 1),
  kills: opt("kills", 10),
  redisWipes: opt("redis-wipes", 2),
  pgStops: opt("pg-stops", 2),
  pgStopS: opt("pg-stop-s", 10),
  ghlBursts: opt("ghl-bursts", 4),
  burstSize: opt("burst-size", 8),
  numbers: opt("numbers", 2),
  contacts: opt("contacts", 4),
  rate: opt("rate", 1),
  textDelayMs: opt("text-delay-ms", 300),
  settleS: opt("settle-s", 180),
  staleS: opt("stale-s", 90),
  pgImmediate: flag("pg-immediate"),
  orderAdvisory: flag("order-advisory"),
  report: flag("report"),
};
if (!Number.isInteger(o.messages) || o.messages < 1)
  throw new Error("usage: npm run chaos -- <messages> [--seed N] [--kills N] …");
const limitMs = Number(process.env.CHAOS_LIMIT_MIN ?? 30) * 60_000;
const rnd = mulberry32(o.seed);
const between = (a: number, b: number) => a + rnd() * (b - a);
const startedAt = Date.now();

// ---------------------------------------------------------------- helpers

async function getJson<T = any>(url: string, init?: RequestInit): Promise<T> {
  const r = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
  const t = await r.text();
  try {
    return JSON.parse(t) as T;
  } catch {
    throw new Error(`${url}: HTTP ${r.status} ${t.slice(0, 200)}`);
  }
}
const post = (url: string, body: unknown) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(90_000),
  });

type InboxEntry = { id: string; from: string; text?: string; at: string };
type GhlInbound = { message?: string; at: string; dropped: boolean };
type GhlMessage = {
  id: string;
  body: string;
  statuses: { status: string; at: string }[];
  delivery?: { attempts: { at: string; status: number | null }[]; done: boolean };
};

async function main() {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "chaos-"));
  chmodSync(tmp, 0o755); // Postgres runs as the postgres user when we are root
  const pgs = await startPrivatePostgres({ dir: path.join(tmp, "pg-home"), port: await freePort() });
  const redis = await startPrivateRedis({ dir: path.join(tmp, "redis"), port: await freePort() });
  log(`private Postgres on ${pgs.port}, Redis on ${redis.port} (${tmp})`);
  const dbUrl = await ensureDatabase(pgs.url, "ghl_wa_chaos", { fresh: true });
  execFileSync(process.execPath, ["--import", "tsx", path.join(root, "prisma", "migrate.ts"), "deploy"], {
    env: { ...process.env, DATABASE_URL: dbUrl },
    stdio: "ignore",
  });

  const workerPort = await freePort();
  let stack: Awaited<ReturnType<typeof startStack>> | undefined;
  let worker: BenchWorker | undefined;
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    await worker?.stop().catch(() => {});
    killAllWorkers();
    await stack?.stop().catch(() => {});
    await redis.kill().catch(() => {});
    try {
      pgs.stop("immediate");
    } catch {}
    rmSync(tmp, { recursive: true, force: true });
  };
  const abort = (code: number) => () => {
    killAllWorkers();
    void cleanup().finally(() => process.exit(code));
  };
  process.once("SIGINT", abort(130)).once("SIGTERM", abort(143));
  const hardLimit = setTimeout(() => {
    process.stderr.write(`time limit (${limitMs / 60_000} min) reached: stopping everything\n`);
    abort(3)();
  }, limitMs);

  try {
    stack = await startStack({
      appPort: await freePort(),
      ghlPort: await freePort(),
      waPort: await freePort(),
      workerPort,
      databaseUrl: dbUrl,
      redisUrl: redis.url,
      mode: "prod",
      quiet: true,
      secrets: {
        ENCRYPTION_KEY: `k1:${Buffer.alloc(32, 7).toString("base64")}`,
        NEXTAUTH_SECRET: "chaos-secret-chaos-secret-chaos-secret",
      },
      extraEnv: { LOG_LEVEL: process.env.CHAOS_LOG_LEVEL ?? "error", TEXT_DELAY_MS: String(o.textDelayMs) },
    });
    const ghl = stack.runtime.ghl.url;
    const wa = stack.runtime.wa.url;
    // GHL resends a Delivery URL call answered 429 (up to 6 times); its real schedule is ~10 min
    // apart, hurried here so a resent message can still arrive within the run
    await post(`${ghl}/__sandbox/settings`, { webhookRetryDelayMs: 5000 });

    // the stack's worker leaves (it owns nothing yet); ours, which we can SIGKILL, takes its place
    const sw = stack.workers[0];
    if (sw) {
      const gone = new Promise((r) => sw.once("exit", r));
      process.kill(-sw.pid!, "SIGTERM");
      await gone;
    }
    worker = new BenchWorker(root, stack.env, "chaos-worker", workerPort);
    await worker.start();

    // ---------------------------------------------------------- set-up (not counted)
    const [locationId] = await installLocations(stack.appUrl, ghl, 1);
    const db = new pg.Client({ connectionString: dbUrl });
    db.on("error", () => {});
    await db.connect();
    const { Redis } = await import("ioredis");
    const rc = new Redis(redis.url, { maxRetriesPerRequest: 3 });
    const link = await linkNumbers({
      db,
      redis: rc,
      waUrl: wa,
      locations: [locationId],
      from: 0,
      to: o.numbers,
      concurrency: o.numbers,
      timeoutMs: 180_000,
    });
    await db.end().catch(() => {});
    rc.disconnect();
    if (link.failed.length || link.linked.length !== o.numbers)
      throw new Error(`linking failed: ${JSON.stringify(link.failed)}`);
    const numbers = link.linked;
    log(`${numbers.length} numbers linked in ${link.seconds.toFixed(1)} s`);
    const contacts = Array.from({ length: o.contacts }, (_, i) => ({
      i,
      phone: contactPhone(i),
      number: numbers[i % numbers.length].phone,
    }));
    for (const c of contacts) await waCall(wa, "POST", "/__sandbox/phones", { phone: c.phone });

    // warm-up, through the public surfaces only: each contact writes first (GHL contact and
    // conversation created; the number it wrote to becomes its sticky number), then GHL answers
    // once (contact looked up, Signal session set up)
    for (const c of contacts)
      await waCall(wa, "POST", `/__sandbox/phones/${c.phone}/send`, { to: c.number, text: `hello-${c.i}` });
    await waitFor("warm-up inbound in GHL", 120_000, async () => {
      const { messages } = await getJson<{ messages: GhlInbound[] }>(
        `${ghl}/__sandbox/locations/${locationId}/inbound`,
      );
      return contacts.every((c) => messages.some((m) => m.message === `hello-${c.i}`));
    });
    for (const c of contacts)
      await post(`${ghl}/__sandbox/locations/${locationId}/messages`, { phone: `+${c.phone}`, message: `warm-${c.i}` });
    await waitFor("warm-up outbound in inboxes", 120_000, async () => {
      for (const c of contacts) {
        const box = await getJson<InboxEntry[]>(`${wa}/__sandbox/phones/${c.phone}/inbox`);
        if (!box.some((m) => m.text === `warm-${c.i}`)) return false;
      }
      return true;
    });
    const devices0 = await getJson<
      { phone: string; pairings: number; logins: number; maxConcurrentConnections: number }[]
    >(`${wa}/__sandbox/devices`);
    log(`warm-up done; chaos starts (${o.messages} messages each way, seed ${o.seed})`);

    // ---------------------------------------------------------- the chaos phase
    const t0 = Date.now();
    const machineMeter = cpuMeter({}); // how busy the whole machine was (others' tests included)
    const load0 = os.loadavg()[0];
    // long enough for every fault and a few seconds after each (a restarted worker takes ~10 s
    // to answer /ready on the loaded 2-core machine)
    const durationS = Math.max(
      o.messages / o.rate,
      o.kills * 16 + o.redisWipes * 6 + o.pgStops * (o.pgStopS + 5) + o.ghlBursts * 4,
    );
    const outSent: {
      tag: string;
      contact: number;
      seq: number;
      sentAt: number;
      deliveryStatus: number | null;
      error?: string;
    }[] = [];
    const inSent: { tag: string; contact: number; seq: number; sentAt: number; ok: boolean; error?: string }[] = [];
    const faults: FaultRecord[] = [];
    const acks = new Map<string, { delivered?: number; read?: number; tag: string }>(); // inbox id → when acked
    let trafficDone = false;
    let stopReceipts = false;

    // per contact, one message at a time in each direction (a person types one after the other);
    // different contacts in parallel, so one slow conversation never holds the schedule back
    const outChain = contacts.map(() => Promise.resolve());
    const inChain = contacts.map(() => Promise.resolve());
    const sendOut = (c: number, seq: number) => {
      outChain[c] = outChain[c].then(async () => {
        const tag = `out-${c}-${seq}`;
        const rec: (typeof outSent)[number] = { tag, contact: c, seq, sentAt: Date.now(), deliveryStatus: null };
        outSent.push(rec);
        try {
          const r = await post(`${ghl}/__sandbox/locations/${locationId}/messages`, {
            phone: `+${contacts[c].phone}`,
            message: tag,
          });
          const b = (await r.json()) as { deliveryStatus?: number | null; deliveryError?: string };
          rec.deliveryStatus = b.deliveryStatus ?? null;
          if (b.deliveryError) rec.error = b.deliveryError;
        } catch (e) {
          rec.error = e instanceof Error ? e.message : String(e);
        }
      });
    };
    const sendIn = (c: number, seq: number) => {
      inChain[c] = inChain[c].then(async () => {
        const tag = `in-${c}-${seq}`;
        const rec: (typeof inSent)[number] = { tag, contact: c, seq, sentAt: Date.now(), ok: false };
        inSent.push(rec);
        try {
          const r = await post(`${wa}/__sandbox/phones/${contacts[c].phone}/send`, {
            to: contacts[c].number,
            text: tag,
          });
          rec.ok = r.status === 200;
          if (!rec.ok) rec.error = `HTTP ${r.status} ${(await r.text()).slice(0, 120)}`;
        } catch (e) {
          rec.error = e instanceof Error ? e.message : String(e);
        }
      });
    };

    const traffic = (async () => {
      const gap = (durationS * 1000) / o.messages;
      for (let k = 0; k < o.messages; k++) {
        const due = t0 + k * gap;
        if (due > Date.now()) await sleep(due - Date.now());
        sendOut(Math.floor(rnd() * contacts.length), k);
        const due2 = t0 + (k + 0.5) * gap;
        if (due2 > Date.now()) await sleep(due2 - Date.now());
        sendIn(Math.floor(rnd() * contacts.length), k);
      }
      await Promise.all([...outChain, ...inChain]);
      trafficDone = true;
      log(`traffic done after ${Math.round((Date.now() - t0) / 1000)} s`);
    })();

    // contacts acknowledge what reached them: delivered at once, read a pass later
    const receipts = (async () => {
      while (!stopReceipts) {
        for (const c of contacts) {
          let box: InboxEntry[];
          try {
            box = await getJson<InboxEntry[]>(`${wa}/__sandbox/phones/${c.phone}/inbox`);
          } catch {
            continue;
          }
          const now = Date.now();
          const toDeliver: string[] = [];
          const toRead: string[] = [];
          for (const m of box) {
            if (!m.text?.startsWith("out-")) continue;
            const a = acks.get(m.id);
            if (!a) toDeliver.push(m.id);
            else if (a.delivered && !a.read && now - a.delivered > 1000) toRead.push(m.id);
          }
          for (const [ids, type] of [
            [toDeliver, "delivered"],
            [toRead, "read"],
          ] as const) {
            if (!ids.length) continue;
            try {
              const r = await post(`${wa}/__sandbox/phones/${c.phone}/receipts`, { messageIds: ids, type });
              if (r.status !== 200) continue;
              for (const id of ids) {
                const m = box.find((x) => x.id === id)!;
                const a = acks.get(id) ?? { tag: m.text! };
                a[type] = Date.now();
                acks.set(id, a);
              }
            } catch {}
          }
        }
        await sleep(1500);
      }
    })();

    // the faults, in a seeded order, spread over the traffic, one at a time
    type Kind = FaultRecord["kind"];
    const plan: Kind[] = [
      ...Array<Kind>(o.kills).fill("worker-kill"),
      ...Array<Kind>(o.redisWipes).fill("redis-wipe"),
      ...Array<Kind>(o.pgStops).fill("postgres-stop"),
      ...Array.from({ length: o.ghlBursts }, (_, i): Kind => (i % 2 === 0 ? "ghl-429" : "ghl-5xx")),
    ];
    for (let i = plan.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [plan[i], plan[j]] = [plan[j], plan[i]];
    }
    const chaos = (async () => {
      const span = durationS * 1000 * 0.85;
      const slot = span / Math.max(1, plan.length);
      let free = 0; // the previous fault's end plus a gap: faults never overlap nor follow at once
      for (const [n, kind] of plan.entries()) {
        const due = Math.max(t0 + durationS * 1000 * 0.05 + n * slot + rnd() * slot * 0.3, free);
        if (due > Date.now()) await sleep(due - Date.now());
        const f: FaultRecord = { n: n + 1, kind, startedAt: Date.now(), restoredAt: 0 };
        if (kind === "worker-kill") {
          await worker!.kill9();
          const down = Math.round(between(1000, 6000));
          f.detail = `down ${down} ms`;
          await sleep(down);
          f.restoredAt = Date.now();
          for (let attempt = 1; ; attempt++) {
            try {
              await worker!.start();
              break;
            } catch (e) {
              log(`worker restart ${attempt} failed: ${e instanceof Error ? e.message : e}`);
              await worker!.kill9().catch(() => {});
              if (attempt >= 5) throw e;
              await sleep(2000);
            }
          }
          f.readyAt = Date.now();
        } else if (kind === "redis-wipe") {
          await redis.kill();
          await sleep(Math.round(between(300, 1500)));
          await redis.start();
          f.restoredAt = Date.now();
        } else if (kind === "postgres-stop") {
          pgs.stop(o.pgImmediate ? "immediate" : "fast");
          await sleep(o.pgStopS * 1000);
          await pgs.start();
          f.restoredAt = Date.now();
        } else {
          const status = kind === "ghl-429" ? 429 : [500, 502, 503][Math.floor(rnd() * 3)];
          // every GHL API path the worker calls for messages: inbound posts, status updates, contacts, conversations
          const paths = [
            "/conversations/messages/inbound",
            "/conversations/messages/*/status",
            "/contacts/*",
            "/conversations/*",
          ];
          for (const p of paths)
            await post(`${ghl}/__sandbox/faults`, { path: p, status, times: o.burstSize, locationId });
          f.detail = `${status} × ${o.burstSize} on each of ${paths.length} paths`;
          f.restoredAt = Date.now();
        }
        faults.push(f);
        free = Date.now() + 3000;
        log(
          `fault ${f.n}/${plan.length} ${kind}${f.detail ? ` (${f.detail})` : ""} at +${Math.round((f.startedAt - t0) / 1000)} s, restored after ${f.restoredAt - f.startedAt} ms`,
        );
      }
    })();

    await Promise.all([traffic, chaos]);
    const trafficEnd = Date.now();

    // ---------------------------------------------------------- settle (bounded)
    const readAll = async () => {
      const inboxes = await Promise.all(
        contacts.map((c) => getJson<InboxEntry[]>(`${wa}/__sandbox/phones/${c.phone}/inbox`)),
      );
      const inbound = (await getJson<{ messages: GhlInbound[] }>(`${ghl}/__sandbox/locations/${locationId}/inbound`))
        .messages;
      const convs = (
        await getJson<{ conversations: { messages: GhlMessage[] }[] }>(
          `${ghl}/__sandbox/locations/${locationId}/conversations`,
        )
      ).conversations;
      const ghlOut = convs.flatMap((c) => c.messages).filter((m) => m.body?.startsWith("out-"));
      const out: OutboundArrival[] = inboxes.flatMap((box, c) =>
        box
          .filter((m) => m.text?.startsWith("out-"))
          .map((m) => ({ contact: c, tag: m.text!, id: m.id, at: Date.parse(m.at) })),
      );
      const inArr: InboundArrival[] = inbound
        .filter((m) => !m.dropped && m.message?.startsWith("in-"))
        .map((m) => ({ tag: m.message!, at: Date.parse(m.at) }));
      return { out, inArr, ghlOut };
    };
    const compute = async () => {
      const r = await readAll();
      return tally({ outSent, inSent, outArrived: r.out, inArrived: r.inArr, ghlOut: r.ghlOut, acks, faults, t0 });
    };
    let result = await compute();
    const settleEnd = Date.now() + o.settleS * 1000;
    let lastKey = "";
    let stableSince = Date.now();
    while (Date.now() < settleEnd) {
      const pending = await getJson<{ deliveries: unknown[] }>(
        `${ghl}/__sandbox/deliveries?pending=true&locationId=${locationId}`,
      );
      const c = result.counts;
      const unacked = result.unacked;
      const done =
        c.out.lost + c.in.lost + c.out.statusesLost === 0 && pending.deliveries.length === 0 && unacked === 0;
      if (done) break;
      const key = JSON.stringify([c, pending.deliveries.length, unacked]);
      if (key !== lastKey) {
        lastKey = key;
        stableSince = Date.now();
      } else if (Date.now() - stableSince > o.staleS * 1000 && pending.deliveries.length === 0) break; // nothing moved (retries back off to a minute apart)
      await sleep(3000);
      result = await compute();
    }
    stopReceipts = true;
    await receipts;
    result = await compute();
    const devices = await getJson<
      {
        phone: string;
        pairings: number;
        logins: number;
        maxConcurrentConnections: number;
        connected: boolean;
        retryReceipts?: Record<string, number>;
      }[]
    >(`${wa}/__sandbox/devices`);
    const ours = devices.filter((d) => numbers.some((n) => n.phone === d.phone));
    const pairings0 = devices0.reduce((a, d) => a + d.pairings, 0);
    const rescans = ours.reduce((a, d) => a + d.pairings, 0) - pairings0 + link.rescans;
    const maxConc = Object.fromEntries(ours.map((d) => [d.phone, d.maxConcurrentConnections]));
    const overConnected = ours.filter((d) => d.maxConcurrentConnections > 1).length;
    const summary = {
      chaos: true,
      code: process.env.CHAOS_CODE,
      seed: o.seed,
      messagesEachWay: o.messages,
      numbers: o.numbers,
      contacts: o.contacts,
      rate: o.rate,
      textDelayMs: o.textDelayMs,
      faults: {
        kills: o.kills,
        redisWipes: o.redisWipes,
        pgStops: o.pgStops,
        pgStopS: o.pgStopS,
        pgStopMode: o.pgImmediate ? "immediate" : "fast",
        ghlBursts: o.ghlBursts,
        burstSize: o.burstSize,
      },
      ...result.counts,
      rescans,
      maxConcurrentConnections: maxConc,
      numbersWithConcurrentConnections: overConnected,
      loginsDuringChaos: ours.reduce((a, d) => a + d.logins, 0) - devices0.reduce((a, d) => a + d.logins, 0),
      // the numbers' retry receipts for contacts' messages they could not decrypt, by what the phone did
      retryReceipts: ours.reduce<Record<string, number>>((a, d) => {
        for (const [k, v] of Object.entries(d.retryReceipts ?? {})) a[k] = (a[k] ?? 0) + v;
        return a;
      }, {}),
      recovery: result.recovery,
      trafficSeconds: Math.round((trafficEnd - t0) / 1000),
      settleSeconds: Math.round((Date.now() - trafficEnd) / 1000),
      totalSeconds: Math.round((Date.now() - startedAt) / 1000),
      details: result.details,
      machine: {
        cpus: os.cpus().length,
        busyPctDuringRun: machineMeter.stop().machineBusyPct,
        load1AtStart: Math.round(load0 * 100) / 100,
        loadAtEnd: os.loadavg().map((x) => Math.round(x * 100) / 100),
        node: process.version,
        startedAt: new Date(startedAt).toISOString(),
        at: new Date().toISOString(),
      },
    };
    const failing = {
      outLost: result.counts.out.lost,
      outDuplicated: result.counts.out.duplicated,
      outOutOfOrder: result.counts.out.outOfOrder,
      statusesLost: result.counts.out.statusesLost,
      inLost: result.counts.in.lost,
      inDuplicated: result.counts.in.duplicated,
      inOutOfOrder: result.counts.in.outOfOrder,
      rescans,
      numbersWithConcurrentConnections: overConnected,
    };
    const advisory = o.orderAdvisory ? new Set(["outOutOfOrder", "inOutOfOrder"]) : new Set<string>();
    const bad = Object.entries(failing).filter(([k, v]) => v !== 0 && !advisory.has(k));
    process.stdout.write(JSON.stringify({ ...summary, failing, ok: bad.length === 0 }) + "\n");
    process.stdout.write(humanSummary(summary, failing) + "\n");
    if (o.orderAdvisory && bad.length === 0 && (failing.outOutOfOrder || failing.inOutOfOrder)) {
      process.stdout.write("  (--order-advisory: the out-of-order counts above do not fail this run)\n");
    }
    return bad.length === 0 || o.report ? 0 : 1;
  } finally {
    clearTimeout(hardLimit);
    await cleanup();
  }
}

async function waitFor(what: string, ms: number, ok: () => Promise<boolean>) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await ok().catch(() => false)) return;
    await sleep(500);
  }
  throw new Error(`${what}: not within ${ms / 1000} s`);
}

function humanSummary(s: any, failing: Record<string, number>): string {
  const d = (x: any) =>
    `sent ${x.sent} (accepted ${x.accepted}), arrived ${x.arrived}, lost ${x.lost}, duplicated ${x.duplicated}, out of order ${x.outOfOrder}`;
  const lines = [
    `chaos: ${s.code ?? ""}; seed ${s.seed}, ${s.messagesEachWay} messages each way, ${s.numbers} numbers, ${s.contacts} contacts; traffic ${s.trafficSeconds} s, settle ${s.settleSeconds} s, total ${s.totalSeconds} s`,
    `  GHL → WhatsApp: ${d(s.out)}; rejected by the app ${s.out.rejected}${s.out.rejectedButDelivered ? ` (${s.out.rejectedButDelivered} of them delivered anyway)` : ""}; statuses lost ${s.out.statusesLost} (delivered ${s.out.deliveredLost}, read ${s.out.readLost}) of ${s.out.acked} acknowledged`,
    `  WhatsApp → GHL: ${d(s.in)}; send errors ${s.in.sendErrors}`,
    `  machine: ${s.machine.cpus} cores, ${s.machine.busyPctDuringRun}% busy during the run (load ${s.machine.load1AtStart} at start)`,
    `  rescans ${s.rescans}; max concurrent connections per number ${JSON.stringify(s.maxConcurrentConnections)}; logins during chaos ${s.loginsDuringChaos}; retry receipts from the numbers ${JSON.stringify(s.retryReceipts)}`,
    `  recovery (ms from the fault lifted to the arrival of the first message sent after it began):`,
    ...s.recovery.map(
      (r: any) =>
        `    #${r.n} ${r.kind} at +${r.atS} s${r.detail ? ` (${r.detail})` : ""}: out ${r.outMs ?? "none arrived"}, in ${r.inMs ?? "none arrived"}`,
    ),
    `  ${
      Object.values(failing).every((v) => v === 0)
        ? "OK: every count is zero"
        : `NOT OK: ${Object.entries(failing)
            .filter(([, v]) => v)
            .map(([k, v]) => `${k} ${v}`)
            .join(", ")}`
    }`,
  ];
  return lines.join("\n");
}

process.on("exit", killAllWorkers);
main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`${e instanceof Error ? e.stack : e}\n`);
    process.exit(2);
  },
);
