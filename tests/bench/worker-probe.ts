// Preloaded into the benchmark's worker process (`node --expose-gc --import tsx --import
// ./tests/bench/worker-probe.ts worker/main.ts`); never part of the product. On SIGUSR2 it runs a
// full GC (twice: weak callbacks free more on the second pass) and writes process.memoryUsage()
// to BENCH_PROBE_FILE, so the benchmark reads live memory rather than garbage not yet collected.
// When `<BENCH_PROBE_FILE>.cmd` exists at the signal, it is a command instead: `prof-start`, or
// `prof-stop <path>` (a V8 CPU profile of the time between them, written to <path>), so a
// benchmark can profile just its measured phase rather than the whole life of the worker.
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { monitorEventLoopDelay, PerformanceObserver } from "node:perf_hooks";

const file = process.env.BENCH_PROBE_FILE;
if (file) {
  let seq = 0;
  let session: Session | undefined;
  const ack = (o: Record<string, unknown>) => {
    writeFileSync(`${file}.tmp`, JSON.stringify({ seq: ++seq, at: Date.now(), ...o }));
    renameSync(`${file}.tmp`, file);
  };
  // while profiling, every SQL statement the worker sends through `pg` is counted by its text
  let queries: Map<string, number> | undefined;
  const pg = (await import("pg")).default;
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: unknown, ...args: unknown[]) {
    if (queries) {
      const a = args[0] as string | { text?: string };
      const text = (typeof a === "string" ? a : (a?.text ?? "?")).replace(/\s+/g, " ").slice(0, 160);
      queries.set(text, (queries.get(text) ?? 0) + 1);
    }
    return (query as (...x: unknown[]) => unknown).apply(this, args);
  } as typeof query;
  // `pauses-start` / `pauses-stop`: what stopped the worker's event loop over a measured phase —
  // the loop's delay (p50/p99/max, 1 ms resolution) and V8's GC pauses (count, total, longest, by kind)
  let loop: ReturnType<typeof monitorEventLoopDelay> | undefined;
  let gcs: { kind: number; ms: number }[] | undefined;
  const gcObserver = new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      gcs?.push({ kind: (e as { detail?: { kind?: number } }).detail?.kind ?? 0, ms: e.duration });
  });
  const pausesReport = () => {
    const ms = (ns: number) => Math.round(ns / 1e4) / 100;
    const kinds: Record<number, string> = { 1: "minor", 2: "major", 4: "incremental", 8: "weakcb" };
    const byKind: Record<string, { count: number; totalMs: number; maxMs: number }> = {};
    for (const g of gcs ?? []) {
      const k = (byKind[kinds[g.kind] ?? String(g.kind)] ??= { count: 0, totalMs: 0, maxMs: 0 });
      k.count++;
      k.totalMs = Math.round((k.totalMs + g.ms) * 10) / 10;
      k.maxMs = Math.max(k.maxMs, Math.round(g.ms * 10) / 10);
    }
    return {
      loopDelay: loop
        ? { p50ms: ms(loop.percentile(50)), p99ms: ms(loop.percentile(99)), maxMs: ms(loop.max) }
        : undefined,
      gc: byKind,
    };
  };
  const command = async (cmd: string) => {
    const [verb, out] = cmd.trim().split(" ");
    if (verb === "pauses-start") {
      loop?.disable();
      loop = monitorEventLoopDelay({ resolution: 1 });
      loop.enable();
      gcs = [];
      gcObserver.observe({ entryTypes: ["gc"] });
    } else if (verb === "pauses-stop") {
      loop?.disable();
      gcObserver.disconnect();
      const report = pausesReport();
      loop = undefined;
      gcs = undefined;
      return ack({ cmd: verb, pauses: report });
    } else if (verb === "prof-start") {
      queries = new Map();
      session = new Session();
      session.connect();
      await session.post("Profiler.enable");
      await session.post("Profiler.start");
    } else if (verb === "prof-stop" && session) {
      const { profile } = await session.post("Profiler.stop");
      writeFileSync(out, JSON.stringify(profile));
      writeFileSync(
        out.replace(/\.cpuprofile$/, "") + ".queries.json",
        JSON.stringify(
          [...(queries ?? [])].sort((a, b) => b[1] - a[1]),
          null,
          1,
        ),
      );
      queries = undefined;
      session.disconnect();
      session = undefined;
    }
    ack({ cmd: verb });
  };
  process.on("SIGUSR2", () => {
    if (existsSync(`${file}.cmd`)) {
      const cmd = readFileSync(`${file}.cmd`, "utf8");
      rmSync(`${file}.cmd`);
      void command(cmd).catch((err) => ack({ cmd, error: String(err) }));
      return;
    }
    const gc = (globalThis as { gc?: () => void }).gc;
    const t0 = performance.now();
    if (gc) {
      gc();
      gc();
    }
    const gcMs = Math.round(performance.now() - t0);
    writeFileSync(
      `${file}.tmp`,
      JSON.stringify({ seq: ++seq, at: Date.now(), gc: !!gc, gcMs, ...process.memoryUsage() }),
    );
    renameSync(`${file}.tmp`, file); // the reader never sees half a file
  });
}

// BENCH_NO_WATCHDOG=1: a what-if, NOT the product's behaviour. InstanceSession arms a 30 s
// watchdog on "open" and clears it on receivedPendingNotifications; Baileys rc14 often emits the
// latter first (its CB:ib,,offline handler runs while CB:success still awaits three IQs), so the
// watchdog restarts every socket every 30 s (RESULTS.md). With this set the watchdog is never
// armed, to measure what an idle fleet costs without that churn.
if (process.env.BENCH_NO_WATCHDOG === "1") {
  const m = await import("../../worker/whatsapp/instance-session");
  (m.InstanceSession.prototype as unknown as { armWatchdog: () => void }).armWatchdog = function () {};
}
