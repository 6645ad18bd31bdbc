import { describe, expect, it } from "vitest";
import { Registry } from "./metrics";

describe("metrics registry", () => {
  it("renders counters, gauges and histograms in Prometheus text format", async () => {
    const r = new Registry();
    const c = r.counter("gw_messages_total", "Messages by direction and status");
    c.inc({ direction: "outbound", status: "sent" });
    c.inc({ direction: "outbound", status: "sent" }, 2);
    const g = r.gauge("gw_instances", "Instances by status");
    g.collect(() => [{ labels: { status: "ONLINE" }, value: 3 }]);
    const h = r.histogram("gw_delivery_seconds", "Delivery URL latency", [0.01, 0.1]);
    h.observe({ route: "delivery" }, 0.005);
    h.observe({ route: "delivery" }, 0.05);
    const text = await r.render();
    expect(text).toContain("# TYPE gw_messages_total counter");
    expect(text).toContain('gw_messages_total{direction="outbound",status="sent"} 3');
    expect(text).toContain('gw_instances{status="ONLINE"} 3');
    expect(text).toContain('gw_delivery_seconds_bucket{route="delivery",le="0.01"} 1');
    expect(text).toContain('gw_delivery_seconds_bucket{route="delivery",le="0.1"} 2');
    expect(text).toContain('gw_delivery_seconds_bucket{route="delivery",le="+Inf"} 2');
    expect(text).toContain('gw_delivery_seconds_count{route="delivery"} 2');
  });

  it("escapes label values", async () => {
    const r = new Registry();
    r.counter("x_total", "x").inc({ err: 'say "hi"\n' });
    expect(await r.render()).toContain('x_total{err="say \\"hi\\"\\n"} 1');
  });
});

describe("renderMetrics", () => {
  it("is off without a token, and needs the exact bearer token with one", async () => {
    const { renderMetrics } = await import("./fleet-metrics");
    const { metrics } = await import("./metrics");
    metrics().counter("gw_test_total", "a counter").inc();
    expect((await renderMetrics("", "Bearer x")).status).toBe(404);
    expect((await renderMetrics("s3cret-token", undefined)).status).toBe(401);
    expect((await renderMetrics("s3cret-token", "Bearer wrong")).status).toBe(401);
    const ok = await renderMetrics("s3cret-token", "Bearer s3cret-token");
    expect(ok.status).toBe(200);
    expect(ok.body).toContain("gw_test_total 1");
  });
});
