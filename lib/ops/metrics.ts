// A small Prometheus registry (text exposition format 0.0.4): counters, gauges, histograms with
// labels. Each process (app, worker) has its own; /api/metrics and the worker's /metrics render it.

type Labels = Record<string, string | number>;
const key = (l: Labels = {}) =>
  JSON.stringify(
    Object.keys(l)
      .sort()
      .map((k) => [k, String(l[k])]),
  );
const fmt = (l: [string, string][]) =>
  l.length
    ? `{${l.map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`).join(",")}}`
    : "";

abstract class Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: "counter" | "gauge" | "histogram",
  ) {}
  abstract lines(): string[];
}

export class Counter extends Metric {
  private values = new Map<string, number>();
  constructor(name: string, help: string) {
    super(name, help, "counter");
  }
  inc(labels: Labels = {}, by = 1) {
    const k = key(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  get(labels: Labels = {}) {
    return this.values.get(key(labels)) ?? 0;
  }
  lines() {
    return [...this.values].map(([k, v]) => `${this.name}${fmt(JSON.parse(k))} ${v}`);
  }
}

export class Gauge extends Metric {
  private values = new Map<string, number>();
  private collector?: () => Promise<{ labels: Labels; value: number }[]> | { labels: Labels; value: number }[];
  constructor(name: string, help: string) {
    super(name, help, "gauge");
  }
  set(labels: Labels, value: number) {
    this.values.set(key(labels), value);
  }
  /** Values computed at scrape time (queue depths, instances by status). */
  collect(fn: NonNullable<Gauge["collector"]>) {
    this.collector = fn;
  }
  async refresh() {
    if (!this.collector) return;
    const rows = await this.collector();
    this.values.clear();
    for (const r of rows) this.values.set(key(r.labels), r.value);
  }
  lines() {
    return [...this.values].map(([k, v]) => `${this.name}${fmt(JSON.parse(k))} ${v}`);
  }
}

export class Histogram extends Metric {
  private series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(
    name: string,
    help: string,
    readonly buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  ) {
    super(name, help, "histogram");
  }
  observe(labels: Labels, seconds: number) {
    const k = key(labels);
    let s = this.series.get(k);
    if (!s) this.series.set(k, (s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 }));
    this.buckets.forEach((b, i) => {
      if (seconds <= b) s!.counts[i]++;
    });
    s.sum += seconds;
    s.count++;
  }
  lines() {
    const out: string[] = [];
    for (const [k, s] of this.series) {
      const l = JSON.parse(k) as [string, string][];
      this.buckets.forEach((b, i) => out.push(`${this.name}_bucket${fmt([...l, ["le", String(b)]])} ${s.counts[i]}`));
      out.push(`${this.name}_bucket${fmt([...l, ["le", "+Inf"]])} ${s.count}`);
      out.push(`${this.name}_sum${fmt(l)} ${s.sum}`);
      out.push(`${this.name}_count${fmt(l)} ${s.count}`);
    }
    return out;
  }
}

export class Registry {
  private metrics = new Map<string, Metric>();
  counter(name: string, help: string) {
    return this.add(new Counter(name, help));
  }
  gauge(name: string, help: string) {
    return this.add(new Gauge(name, help));
  }
  histogram(name: string, help: string, buckets?: number[]) {
    return this.add(new Histogram(name, help, buckets));
  }
  async render(): Promise<string> {
    const out: string[] = [];
    for (const m of this.metrics.values()) {
      if (m instanceof Gauge) await m.refresh().catch(() => {});
      out.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`, ...m.lines());
    }
    return out.join("\n") + "\n";
  }
  private add<T extends Metric>(m: T): T {
    const existing = this.metrics.get(m.name);
    if (existing) return existing as T;
    this.metrics.set(m.name, m);
    return m;
  }
}

const g = globalThis as unknown as { __metrics?: Registry };
export function metrics(): Registry {
  g.__metrics ??= new Registry();
  return g.__metrics;
}
