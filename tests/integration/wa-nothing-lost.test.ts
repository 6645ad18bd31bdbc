import { spawn } from "node:child_process";
import path from "node:path";
import { Redis } from "ioredis";
import pino from "pino";
import { describe, expect, it } from "vitest";
import type { GhlJob } from "@/lib/queue/ghl-jobs";
import { createMessaging } from "@/worker/messaging/messaging-hooks";
import { makeManager, managerConfig, simCall, until, watchEvents } from "./helpers/wa-fixture";
import { useWaWorld } from "./helpers/wa-world";

// "Nothing received is lost", against a simulator that behaves as WhatsApp does: what contacts
// (and the account owner, on the phone) send while the number's worker is down is replayed at the
// next login marked `offline` (Baileys: upsert "append"), and anything the worker received but
// never acknowledged is replayed too. Each scenario ends with every message stored exactly once,
// in each sender's order, with its direction, and one GHL job per message.
const NUMBER = "15554440001";
const BEA = "15554449991";
const CAL = "15554449992";
const childJobs: GhlJob[] = [];
const world = useWaWorld(import.meta.filename, { location: "locN", instance: "in", phones: [NUMBER, BEA, CAL] });

/** An in-process worker (sessions, send loops, inbound) that records its GHL jobs. */
async function inProcessWorker(workerId: string) {
  const jobs: GhlJob[] = [];
  const wake = new Redis(`${process.env.TEST_REDIS_URL}/1`);
  const messaging = createMessaging({
    db: world.db,
    redis: world.redis,
    subscriber: wake,
    notifyGhl: async (j) => void jobs.push(j),
    log: pino({ level: "silent" }),
    pollMs: 200,
    cfg: { TEXT_DELAY_MS: 0, MEDIA_DELAY_MS_MIN: 0, MEDIA_DELAY_MS_MAX: 0, MEDIA_URL_ALLOWED_ORIGINS: [] as string[] },
  });
  await messaging.start();
  const w = makeManager(world.db, managerConfig(world.sim as never, world.dbUrl, workerId), { hooks: messaging.hooks });
  await w.m.start();
  return {
    jobs,
    /** a clean stop, as on SIGTERM: sockets closed, lease released */
    async stop() {
      await w.close();
      await messaging.stop();
      await wake.quit();
    },
  };
}

function childWorker(workerId: string, extra: { crashOnText?: string } = {}) {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      path.join(import.meta.dirname, "helpers/wa-messaging-child.ts"),
      JSON.stringify({
        ...managerConfig(world.sim as never, world.dbUrl, workerId),
        textDelayMs: 0,
        recordJobs: true,
        ...extra,
      }),
    ],
    {
      env: { ...process.env, LOG_LEVEL: "silent" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let buf = "";
  child.stdout!.on("data", (d: Buffer) => {
    buf += d.toString();
    for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.startsWith("job ")) childJobs.push(JSON.parse(line.slice(4)) as GhlJob);
    }
  });
  world.children.push(child);
  const exited = new Promise<number | null>((r) => child.once("exit", (code, signal) => r(signal ? -1 : code)));
  return { child, exited };
}

const online = (by: string) =>
  until(
    `ONLINE on ${by}`,
    async () =>
      (await world.redis.get("gw:lease:in")) === by &&
      (await world.db.instance.findUnique({ where: { id: "in" } }))?.status === "ONLINE",
    30_000,
  );
const send = (from: string, to: string, text: string) =>
  simCall(world.sim, "POST", `/__sandbox/phones/${from}/send`, { to, text });
const rows = () =>
  world.db.message.findMany({
    where: { instanceId: "in" },
    orderBy: [{ createdAt: "asc" }, { seq: "asc" }],
    include: { contact: true },
  });

/** Every text once, each sender's in the order sent, with the direction expected. */
async function expectStored(
  expected: { from: string; text: string; direction: "INBOUND" | "OUTBOUND" }[],
  ms = 30_000,
) {
  const texts = new Set(expected.map((e) => e.text));
  const got = await until(
    `${expected.length} messages stored`,
    async () => {
      const r = (await rows()).filter((m) => texts.has(m.text ?? ""));
      return r.length >= expected.length ? r : undefined;
    },
    ms,
  ).catch(async (e) => {
    const have = new Set((await rows()).map((m) => m.text));
    throw new Error(
      `${(e as Error).message}; missing: ${JSON.stringify(expected.filter((x) => !have.has(x.text)).map((x) => x.text))}`,
    );
  });
  expect(got.length).toBe(expected.length); // none twice
  for (const e of expected) {
    const r = got.find((m) => m.text === e.text)!;
    expect(r.direction, e.text).toBe(e.direction);
    expect(r.contact?.phone, e.text).toBe(`+${e.direction === "INBOUND" ? e.from : BEA}`);
  }
  for (const sender of new Set(expected.map((e) => e.from))) {
    const want = expected.filter((e) => e.from === sender).map((e) => e.text);
    expect(
      got.filter((m) => want.includes(m.text ?? "")).map((m) => m.text),
      `order of ${sender}`,
    ).toEqual(want);
  }
  return got;
}

describe("nothing received is lost", { retry: 0 }, () => {
  it("links the number once", async () => {
    const ev = await watchEvents(`${process.env.TEST_REDIS_URL}/1`, "locN");
    const w = await inProcessWorker("linker");
    const qr = await until("a QR", async () => ev.events.find((e) => e.type === "instance.qr"));
    await simCall(world.sim, "POST", `/__sandbox/phones/${NUMBER}/scan`, { qr: (qr as { qr: string }).qr });
    await online("linker");
    await w.stop();
    await ev.close();
  });

  it("a clean restart: 20 messages sent while the worker was stopped are all stored once, in order", async () => {
    // the worker is stopped (SIGTERM: sockets closed, lease released) before they write
    const texts = Array.from({ length: 20 }, (_, i) => ({
      from: i % 2 ? CAL : BEA,
      text: `while down ${String(i).padStart(2, "0")}`,
      direction: "INBOUND" as const,
    }));
    for (const t of texts) await send(t.from, NUMBER, t.text);
    const w = await inProcessWorker("restarted");
    try {
      await online("restarted");
      const got = await expectStored(texts);
      const ids = new Set(got.map((m) => m.id));
      await until(
        "a GHL job for each",
        async () => w.jobs.filter((j) => j.kind === "inbound" && ids.has(j.messageId)).length === 20,
        15_000,
      );
    } finally {
      await w.stop();
    }
  });

  it("a worker killed after decrypting and before storing: the message is replayed and stored once", async () => {
    const doomed = childWorker("doomed", { crashOnText: "crash here" });
    await online("doomed");
    await send(BEA, NUMBER, "before the crash");
    await expectStored([{ from: BEA, text: "before the crash", direction: "INBOUND" }]);
    await send(BEA, NUMBER, "crash here");
    expect(await doomed.exited).toBe(-1); // killed by its own hook, between decryption and storage
    expect((await rows()).some((m) => m.text === "crash here")).toBe(false);
    await send(BEA, NUMBER, "after the crash");
    const taker = childWorker("taker");
    await online("taker");
    await expectStored([
      { from: BEA, text: "before the crash", direction: "INBOUND" },
      { from: BEA, text: "crash here", direction: "INBOUND" },
      { from: BEA, text: "after the crash", direction: "INBOUND" },
    ]);
  });

  it("kill -9, then failover: 5 from a contact and 2 typed on the owner's phone, all once, with their directions", async () => {
    const taker = world.children[world.children.length - 1];
    taker.kill("SIGKILL");
    const contact = Array.from({ length: 5 }, (_, i) => ({
      from: BEA,
      text: `bea while dead ${i}`,
      direction: "INBOUND" as const,
    }));
    const owner = Array.from({ length: 2 }, (_, i) => ({
      from: NUMBER,
      text: `owner on the phone ${i}`,
      direction: "OUTBOUND" as const,
    }));
    for (const [i, m] of contact.entries()) {
      await send(BEA, NUMBER, m.text);
      if (i < 2) await send(NUMBER, BEA, owner[i].text);
    }
    const survivor = await inProcessWorker("survivor");
    try {
      await online("survivor");
      const got = await expectStored([...contact, ...owner]);
      for (const r of got.filter((m) => m.direction === "OUTBOUND")) expect(r.source).toBe("PHONE");
      // the owner's messages are relayed to GHL as outbound messages, once
      const ids = new Set(got.map((m) => m.id));
      await until(
        "a GHL job for each of the 7",
        async () => survivor.jobs.filter((j) => j.kind === "inbound" && ids.has(j.messageId)).length === 7,
        15_000,
      );
      // the contact's copies of the owner's messages arrived once each
      const inbox = await simCall<{ text?: string }[]>(world.sim, "GET", `/__sandbox/phones/${BEA}/inbox`);
      for (const o of owner) expect(inbox.filter((m) => m.text === o.text).length).toBe(1);

      // a dropped socket on the same worker: what comes while it reconnects is replayed
      await simCall(world.sim, "POST", "/__sandbox/faults", { phone: NUMBER, kind: "drop" });
      const afterDrop = [
        { from: CAL, text: "during the reconnect", direction: "INBOUND" as const },
        { from: NUMBER, text: "owner during the reconnect", direction: "OUTBOUND" as const },
      ];
      await send(CAL, NUMBER, afterDrop[0].text);
      await send(NUMBER, BEA, afterDrop[1].text);
      await expectStored(afterDrop);
    } finally {
      await survivor.stop();
    }
    const devices = await simCall<{ phone: string; pairings: number; maxConcurrentConnections: number }[]>(
      world.sim,
      "GET",
      "/__sandbox/devices",
    );
    expect(devices.find((d) => d.phone === NUMBER)).toMatchObject({ pairings: 1, maxConcurrentConnections: 1 });
  });
});
