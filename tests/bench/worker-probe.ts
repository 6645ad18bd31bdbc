// Preloaded into the benchmark's worker process (`node --expose-gc --import tsx --import
// ./tests/bench/worker-probe.ts worker/main.ts`); never part of the product. On SIGUSR2 it runs a
// full GC (twice: weak callbacks free more on the second pass) and writes process.memoryUsage()
// to BENCH_PROBE_FILE, so the benchmark reads live memory rather than garbage not yet collected.
import { renameSync, writeFileSync } from "node:fs";

const file = process.env.BENCH_PROBE_FILE;
if (file) {
  let seq = 0;
  process.on("SIGUSR2", () => {
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
