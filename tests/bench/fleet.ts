// Helpers for the fleet benchmarks (memory, recovery, outbound, inbound) in run.ts: a worker
// process the benchmark owns (so it can read its RSS, force a GC, kill -9 it), locations installed
// through the app's real OAuth flow against the GHL simulator, numbers linked by QR on the
// WhatsApp simulator, and CPU accounting from /proc. Loopback only; everything started here is
// killed on exit.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Redis } from "ioredis";
import type pg from "pg";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

// ---------------------------------------------------------------- /proc

const CLK_TCK = 100; // Linux USER_HZ on x86-64

function readStat(pid: number): { pgrp: number; ticks: number; comm: string } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    const close = s.lastIndexOf(")");
    const comm = s.slice(s.indexOf("(") + 1, close);
    const f = s.slice(close + 2).split(" ");
    // fields after comm: state(0) ppid(1) pgrp(2) … utime(11) stime(12)
    return { pgrp: Number(f[2]), ticks: Number(f[11]) + Number(f[12]), comm };
  } catch {
    return undefined;
  }
}

function allPids(): number[] {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
}

/** CPU seconds used so far by every live process of a process group (a stack child and its tsx child). */
export function groupCpuSeconds(pgrp: number): number {
  let t = 0;
  for (const pid of allPids()) {
    const s = readStat(pid);
    if (s && s.pgrp === pgrp) t += s.ticks;
  }
  return t / CLK_TCK;
}

/** CPU seconds of every process with this command name (postgres, redis-server: shared with other users of the machine). */
/** CPU ticks of every process whose name starts with `comm`, by pid. */
function commCpuByPid(comm: string): Map<number, number> {
  const m = new Map<number, number>();
  for (const pid of allPids()) {
    const s = readStat(pid);
    if (s && s.comm.startsWith(comm)) m.set(pid, s.ticks);
  }
  return m;
}

export function vmRssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : NaN;
}

function machineTicks(): { busy: number; total: number } {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  const idle = f[3] + (f[4] ?? 0);
  return { busy: total - idle, total };
}

/** CPU% (of one core) per process group over an interval, plus the whole machine's busy % (of all cores). */
export function cpuMeter(groups: Record<string, () => number | undefined>) {
  const read = () => {
    const g: Record<string, number> = {};
    for (const [k, pgid] of Object.entries(groups)) {
      const p = pgid();
      g[k] = p ? groupCpuSeconds(p) : 0;
    }
    return {
      at: performance.now(),
      g,
      m: machineTicks(),
      byPid: { postgresAll: commCpuByPid("postgres"), redisAll: commCpuByPid("redis-server") },
    };
  };
  const start = read();
  return {
    /** percent of one core per group over the interval since creation */
    stop(): Record<string, number> {
      const end = read();
      const secs = (end.at - start.at) / 1000;
      const out: Record<string, number> = {};
      for (const k of Object.keys(end.g))
        out[`${k}Pct`] = Math.round(((end.g[k] - (start.g[k] ?? 0)) / secs) * 1000) / 10;
      // per process: one that ended in between (a Postgres backend or autovacuum worker) would
      // otherwise subtract its whole past from the total; its share of the interval is not counted
      for (const k of ["postgresAll", "redisAll"] as const) {
        let ticks = 0;
        for (const [pid, t] of end.byPid[k]) ticks += t - (start.byPid[k].get(pid) ?? 0);
        out[`${k}Pct`] = Math.round((ticks / CLK_TCK / secs) * 1000) / 10;
      }
      out.machineBusyPct = Math.round(((end.m.busy - start.m.busy) / (end.m.total - start.m.total)) * 1000) / 10;
      out.seconds = Math.round(secs * 10) / 10;
      return out;
    },
  };
}

// ---------------------------------------------------------------- the worker

/**
 * The benchmark's own worker process: the product's worker/main.ts, unchanged, started with
 * --expose-gc and the probe preload (GC + memoryUsage on SIGUSR2). Same command as the stack's
 * worker otherwise (tsx loader), same environment.
 */
export class BenchWorker {
  child?: ChildProcess;
  readonly probeFile: string;
  constructor(
    private root: string,
    private env: Record<string, string>,
    readonly workerId: string,
    readonly port: number,
  ) {
    this.probeFile = path.join(os.tmpdir(), `bench-probe-${process.pid}-${port}.json`);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get alive(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(timeoutMs = 90_000): Promise<number> {
    const t0 = performance.now();
    rmSync(this.probeFile, { force: true });
    // BENCH_WORKER_CPU_PROF_ALL=<dir>: a V8 CPU profile of the worker's whole life, written when it
    // stops (BENCH_WORKER_CPU_PROF=<dir> profiles only measured phases, see `profile`)
    const prof = process.env.BENCH_WORKER_CPU_PROF_ALL
      ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_WORKER_CPU_PROF_ALL}`]
      : [];
    this.child = spawn(
      process.execPath,
      [...prof, "--expose-gc", "--import", "tsx", "--import", "./tests/bench/worker-probe.ts", "worker/main.ts"],
      {
        cwd: this.root,
        detached: true,
        stdio: ["ignore", 2, 2],
        env: {
          ...process.env,
          ...this.env,
          WORKER_HTTP_PORT: String(this.port),
          WORKER_ID: this.workerId,
          BENCH_PROBE_FILE: this.probeFile,
        },
      },
    );
    live.add(this.child);
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (!this.alive) throw new Error(`the worker exited (${this.child.exitCode ?? this.child.signalCode})`);
      try {
        if ((await fetch(`http://127.0.0.1:${this.port}/ready`)).status === 200) return (performance.now() - t0) / 1000;
      } catch {}
      await sleep(100);
    }
    throw new Error("the worker did not become ready");
  }

  /** kill -9: no graceful close, leases and sockets left as they are. */
  async kill9(): Promise<void> {
    const c = this.child;
    if (!c || !this.alive) return;
    const exited = new Promise((r) => c.once("exit", r));
    process.kill(c.pid!, "SIGKILL");
    await exited;
    live.delete(c);
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (!c || !this.alive) return;
    const exited = new Promise((r) => c.once("exit", r));
    try {
      process.kill(-c.pid!, "SIGTERM");
    } catch {}
    await Promise.race([exited, sleep(25_000)]);
    if (this.alive) process.kill(-c.pid!, "SIGKILL");
    live.delete(c);
  }

  /** Starts (`start`) or ends a V8 CPU profile in the worker; `stop` writes it to `out`. */
  async profile(what: "start" | "stop", out?: string): Promise<void> {
    await this.command(what === "start" ? "prof-start" : `prof-stop ${out}`);
  }

  /** Starts watching the worker's event-loop delay and GC pauses; `stop` returns what was seen. */
  async pauses(what: "start" | "stop"): Promise<Record<string, unknown> | undefined> {
    return (await this.command(`pauses-${what}`)).pauses as Record<string, unknown> | undefined;
  }

  private async command(cmd: string): Promise<Record<string, unknown>> {
    const before = existsSync(this.probeFile) ? JSON.parse(readFileSync(this.probeFile, "utf8")).seq : 0;
    writeFileSync(`${this.probeFile}.cmd`, cmd);
    process.kill(this.pid!, "SIGUSR2");
    const end = Date.now() + 30_000;
    while (Date.now() < end) {
      await sleep(100);
      if (!existsSync(this.probeFile)) continue;
      const p = JSON.parse(readFileSync(this.probeFile, "utf8"));
      if (p.seq > before) return p;
    }
    throw new Error(`the worker did not answer the probe command (${cmd})`);
  }

  /** Forces a full GC in the worker and returns its memoryUsage() and VmRSS right after. */
  async probe(): Promise<{
    rss: number;
    vmRss: number;
    heapUsed: number;
    heapTotal: number;
    external: number;
    arrayBuffers: number;
    gc: boolean;
    gcMs: number;
  }> {
    const before = existsSync(this.probeFile) ? JSON.parse(readFileSync(this.probeFile, "utf8")).seq : 0;
    process.kill(this.pid!, "SIGUSR2");
    const end = Date.now() + 30_000;
    while (Date.now() < end) {
      await sleep(200);
      if (!existsSync(this.probeFile)) continue;
      const p = JSON.parse(readFileSync(this.probeFile, "utf8"));
      if (p.seq > before) return { ...p, vmRss: vmRssBytes(this.pid!) };
    }
    throw new Error("the worker did not answer the memory probe");
  }
}

const live = new Set<ChildProcess>();
/** Last resort on exit (error, time limit): no worker of ours outlives the benchmark. */
export function killAllWorkers() {
  for (const c of live) {
    try {
      process.kill(-c.pid!, "SIGKILL");
    } catch {}
  }
  live.clear();
}

// ---------------------------------------------------------------- GHL: locations installed through the app

export const COMPANY = "SandboxAgency0000001";
export const locationIdOf = (i: number) => `L${String(i).padStart(3, "0")}Bench`.padEnd(19, "0") + "1";

async function json<T = any>(r: Response): Promise<T> {
  const t = await r.text();
  try {
    return JSON.parse(t) as T;
  } catch {
    throw new Error(`HTTP ${r.status}: ${t.slice(0, 200)}`);
  }
}

/** Creates `n` locations in the GHL simulator and installs the app on each (install → choose location → callback). */
export async function installLocations(appUrl: string, ghlUrl: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = locationIdOf(i);
    const c = await fetch(`${ghlUrl}/__sandbox/locations`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id, name: `Bench ${i}`, companyId: COMPANY }),
    });
    if (c.status !== 201) throw new Error(`creating location ${id}: ${c.status} ${await c.text()}`);
    const inst = await fetch(`${appUrl}/api/oauth/install`, { redirect: "manual" });
    const choose = new URL(inst.headers.get("location") ?? "");
    const form = new URLSearchParams({ locationId: id });
    for (const k of ["client_id", "redirect_uri", "scope", "state"]) form.set(k, choose.searchParams.get(k) ?? "");
    const picked = await fetch(`${ghlUrl}/v2/oauth/chooselocation`, {
      method: "POST",
      body: form,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      redirect: "manual",
    });
    const callback = picked.headers.get("location");
    if (!callback) throw new Error(`choose-location answered ${picked.status}`);
    // the browser that started the install carries its state cookie to the callback
    const cookie = (inst.headers.get("set-cookie") ?? "").split(";")[0];
    const done = await fetch(callback, { redirect: "manual", headers: cookie ? { cookie } : {} });
    const to = done.headers.get("location") ?? "";
    if (!/\/installed\?r=/.test(to)) throw new Error(`install of ${id} ended at ${to}`);
    ids.push(id);
  }
  return ids;
}

// ---------------------------------------------------------------- WhatsApp: numbers linked by QR

export type Linked = { id: string; locationId: string; name: string; phone: string };

export const numberPhone = (i: number) => `1777${String(i).padStart(7, "0")}`;
export const contactPhone = (i: number) => `1888${String(i).padStart(7, "0")}`;

export async function waCall<T = any>(
  waUrl: string,
  method: string,
  p: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const r = await fetch(`${waUrl}${p}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, body: await json<T>(r) };
}

/**
 * Links numbers [from, to) with bounded concurrency, as a person would: the instance row with
 * desired state RUNNING and the control message the app sends (lib/instances create), the QR the
 * worker stores in Redis (qrKey), the phone scanning it, then ONLINE in Postgres.
 */
export async function linkNumbers(o: {
  db: pg.Client;
  redis: Redis;
  waUrl: string;
  locations: string[];
  from: number;
  to: number;
  concurrency: number;
  timeoutMs: number;
}): Promise<{ linked: Linked[]; failed: { i: number; error: string }[]; seconds: number; rescans: number }> {
  const t0 = performance.now();
  const online = new Set<string>();
  let polling = true;
  // one status poll for everyone (not one query per number)
  const poller = (async () => {
    while (polling) {
      const r = await o.db.query<{ id: string }>(`SELECT id FROM "Instance" WHERE status = 'ONLINE'`);
      online.clear();
      for (const row of r.rows) online.add(row.id);
      await sleep(300);
    }
  })();
  const linked: Linked[] = [];
  const failed: { i: number; error: string }[] = [];
  let rescans = 0;
  let next = o.from;
  const deadline = Date.now() + o.timeoutMs;
  const one = async (i: number) => {
    const phone = numberPhone(i);
    const locationId = o.locations[i % o.locations.length];
    const name = `n-${String(i).padStart(5, "0")}`;
    const p = await waCall(o.waUrl, "POST", "/__sandbox/phones", { phone });
    if (p.status !== 200 && p.status !== 201) throw new Error(`phone ${phone}: ${p.status}`);
    const row = await o.db.query<{ id: string }>(
      // linked 90 days ago: the fleet stands for warmed numbers (the governor's cap, not week one's)
      `INSERT INTO "Instance"(id, "locationId", name, "desiredState", status, "firstLinkedAt", "updatedAt") VALUES (gen_random_uuid()::text, $1, $2, 'RUNNING', 'CONNECTING', now() - interval '90 days', now()) RETURNING id`,
      [locationId, name],
    );
    const id = row.rows[0].id;
    await o.redis.publish("gw:control", JSON.stringify({ type: "instance.start", instanceId: id, locationId }));
    let scanned: string | undefined;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`timed out linking ${name}`);
      if (online.has(id)) break;
      const raw = await o.redis.get(`gw:qr:${id}`);
      const qr = raw ? (JSON.parse(raw) as { qr: string }).qr : undefined;
      if (qr && qr !== scanned) {
        if (scanned) rescans++; // the first QR expired before the scan took: counted, should stay 0
        const s = await waCall(o.waUrl, "POST", `/__sandbox/phones/${phone}/scan`, { qr });
        if (s.status === 200) scanned = qr;
      }
      await sleep(250);
    }
    linked.push({ id, locationId, name, phone });
  };
  try {
    await Promise.all(
      Array.from({ length: o.concurrency }, async () => {
        while (next < o.to) {
          const i = next++;
          try {
            await one(i);
          } catch (e) {
            failed.push({ i, error: e instanceof Error ? e.message : String(e) });
            if (Date.now() > deadline) return;
          }
          const n = linked.length + failed.length;
          if (n % 25 === 0)
            log(
              `linked ${o.from + linked.length} (${failed.length} failed) in ${Math.round((performance.now() - t0) / 1000)} s`,
            );
        }
      }),
    );
  } finally {
    polling = false;
    await poller;
  }
  return { linked, failed, seconds: (performance.now() - t0) / 1000, rescans };
}

export function percentile(sorted: number[], q: number): number {
  if (!sorted.length) return NaN;
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] * 10) / 10;
}
