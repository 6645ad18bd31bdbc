// Preloaded into the benchmark's worker process (`node --expose-gc --import tsx --import
// ./tests/bench/worker-probe.ts worker/main.ts`); never part of the product. On SIGUSR2 it runs a
// full GC (twice: weak callbacks free more on the second pass) and writes process.memoryUsage()
// to BENCH_PROBE_FILE, so the benchmark reads live memory rather than garbage not yet collected.
// When `<BENCH_PROBE_FILE>.cmd` exists at the signal, it is a command instead: `prof-start`, or
// `prof-stop <path>` (a V8 CPU profile of the time between them, written to <path>), so a
// benchmark can profile just its measured phase rather than the whole life of the worker.
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";

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
      const text = (typeof a === "string" ? a : a?.text ?? "?").replace(/\s+/g, " ").slice(0, 160);
      queries.set(text, (queries.get(text) ?? 0) + 1);
    }
    return (query as (...x: unknown[]) => unknown).apply(this, args);
  } as typeof query;
  const command = async (cmd: string) => {
    const [verb, out] = cmd.trim().split(" ");
    if (verb === "prof-start") {
      queries = new Map();
      session = new Session();
      session.connect();
      await session.post("Profiler.enable");
      await session.post("Profiler.start");
    } else if (verb === "prof-stop" && session) {
      const { profile } = await session.post("Profiler.stop");
      writeFileSync(out, JSON.stringify(profile));
      writeFileSync(out.replace(/\.cpuprofile$/, "") + ".queries.json", JSON.stringify([...(queries ?? [])].sort((a, b) => b[1] - a[1]), null, 1));
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
    writeFileSync(`${file}.tmp`, JSON.stringify({ seq: ++seq, at: Date.now(), gc: !!gc, gcMs, ...process.memoryUsage() }));
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
