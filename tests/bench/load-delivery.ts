// Load generator for the Delivery URL, run as its own process (so it does not share the app's
// CPU accounting): POSTs signed GHL payloads at a fixed rate for a fixed time, prints one JSON
// line with latency percentiles and errors. Bounded: stops by itself; loopback targets only.
// Cheap on purpose, as autocannon would be: every payload is signed before the clock starts, and
// requests go through node:http with keep-alive (fetch costs several times more CPU per request,
// and this process shares the machine with the app it measures).
import { createPrivateKey, randomUUID, sign } from "node:crypto";
import http from "node:http";

const [url, rateS, secondsS, keyPem, locationId] = process.argv.slice(2);
const rate = Number(rateS);
const seconds = Number(secondsS);
if (!/^http:\/\/127\.0\.0\.1:/.test(url)) throw new Error("loopback targets only");
const key = createPrivateKey(keyPem.replace(/\\n/g, "\n"));

const lat: number[] = [];
let errors = 0;
const statuses: Record<string, number> = {};
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const target = new URL(url);

const total = rate * seconds;
const payloads = Array.from({ length: total }, (_, i) => {
  const body = Buffer.from(
    JSON.stringify({
      contactId: `c${i % 500}`,
      locationId,
      messageId: `bench-${randomUUID()}`,
      type: "SMS",
      phone: `+1555${String(1_000_000 + (i % 500)).slice(1)}`,
      message: `load ${i}`,
      attachments: [],
    }),
  );
  return { body, sig: sign(null, body, key).toString("base64") };
});

function post(body: Buffer, sig: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: "POST",
        headers: { "content-type": "application/json", "content-length": body.length, "x-ghl-signature": sig },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
        res.on("error", reject);
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end(body);
  });
}

async function one(i: number) {
  const { body, sig } = payloads[i];
  const t0 = performance.now();
  try {
    const status = await post(body, sig);
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (status !== 200) errors++;
  } catch {
    errors++;
  }
  lat.push(performance.now() - t0);
}

const start = performance.now();
const inflight: Promise<void>[] = [];
for (let i = 0; i < total; i++) {
  const due = start + (i * 1000) / rate;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  inflight.push(one(i));
}
await Promise.all(inflight);
const elapsed = (performance.now() - start) / 1000;
lat.sort((a, b) => a - b);
const p = (q: number) => Math.round(lat[Math.min(lat.length - 1, Math.floor(q * lat.length))] * 10) / 10;
agent.destroy();
process.stdout.write(
  JSON.stringify({
    client: "node:http keep-alive, pre-signed",
    targetRps: rate,
    achievedRps: Math.round(total / elapsed),
    requests: total,
    p50ms: p(0.5),
    p90ms: p(0.9),
    p99ms: p(0.99),
    maxMs: p(1),
    errors,
    statuses,
  }) + "\n",
);
