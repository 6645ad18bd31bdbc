// Load generator for the Delivery URL, run as its own process (so it does not share the app's
// CPU accounting): POSTs signed GHL payloads at a fixed rate for a fixed time, prints one JSON
// line with latency percentiles and errors. Bounded: stops by itself; loopback targets only.
import { createPrivateKey, randomUUID, sign } from "node:crypto";

const [url, rateS, secondsS, keyPem, locationId] = process.argv.slice(2);
const rate = Number(rateS);
const seconds = Number(secondsS);
if (!/^http:\/\/127\.0\.0\.1:/.test(url)) throw new Error("loopback targets only");
const key = createPrivateKey(keyPem.replace(/\\n/g, "\n"));

const lat: number[] = [];
let errors = 0;
const statuses: Record<string, number> = {};
async function one(i: number) {
  const body = Buffer.from(JSON.stringify({ contactId: `c${i % 500}`, locationId, messageId: `bench-${randomUUID()}`, type: "SMS", phone: `+1555${String(1_000_000 + (i % 500)).slice(1)}`, message: `load ${i}`, attachments: [] }));
  const sig = sign(null, body, key).toString("base64");
  const t0 = performance.now();
  try {
    const r = await fetch(url, { method: "POST", body, headers: { "content-type": "application/json", "x-ghl-signature": sig } });
    await r.arrayBuffer();
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    if (r.status !== 200) errors++;
  } catch {
    errors++;
  }
  lat.push(performance.now() - t0);
}

const total = rate * seconds;
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
process.stdout.write(JSON.stringify({ targetRps: rate, achievedRps: Math.round(total / elapsed), requests: total, p50ms: p(0.5), p90ms: p(0.9), p99ms: p(0.99), maxMs: p(1), errors, statuses }) + "\n");
