import { describe, expect, it } from "vitest";
import { acceptOutbound } from "@/lib/messages/accept-outbound";
import { publishOutboundQueued } from "@/lib/messages/outbound-signal";
import { makeMessagingWorker, simCall, until, watchEvents } from "./helpers/wa-fixture";
import { useWaWorld } from "./helpers/wa-world";

// A number handed over (rebalance or drain) while its queue is being sent: the message in flight
// (claimed, waiting out its pacing gap) is not sent by the old owner after the handover; every
// message reaches the phone once, under one WhatsApp id, in order, from the new owner
// (docs/architecture.md#sharing-numbers-between-workers).
const NUMBER = "15554450001";
const CONTACT = "15554459999";
const world = useWaWorld(import.meta.filename, { location: "locH", instance: "ih", phones: [NUMBER, CONTACT] });

type Inbox = { id: string; text?: string }[];
const inbox = () => simCall<Inbox>(world.sim, "GET", `/__sandbox/phones/${CONTACT}/inbox`);

function worker(id: string, textDelayMs: number) {
  return makeMessagingWorker({ db: world.db, redis: world.redis, sim: world.sim as never, dbUrl: world.dbUrl }, id, {
    textDelayMs,
    pollMs: 200,
  });
}

// no retry: the first attempt links the number, so a second could only time out waiting for a QR
describe("a number handed over mid-queue", { retry: 0 }, () => {
  it("sends the message in flight once, from the new owner, in its place", async () => {
    const a = worker("hand-a", 1500);
    const b = worker("hand-b", 20);
    try {
      const ev = await watchEvents(`${process.env.TEST_REDIS_URL}/1`, "locH");
      await a.start();
      const qr = await until("a QR", async () => ev.events.find((e) => e.type === "instance.qr"));
      await simCall(world.sim, "POST", `/__sandbox/phones/${NUMBER}/scan`, { qr: (qr as { qr: string }).qr });
      await until(
        "ONLINE",
        async () => (await world.db.instance.findUnique({ where: { id: "ih" } }))?.status === "ONLINE",
      );
      await ev.close();
      await b.start(); // one number, two workers: it stays with a (its share)

      const texts = Array.from({ length: 6 }, (_, i) => `queued ${i}`);
      for (const t of texts)
        await acceptOutbound(world.db, world.redis, {
          locationId: "locH",
          ghlMessageId: `H-${t}`,
          phone: `+${CONTACT}`,
          text: t,
          attachments: [],
          source: "GHL",
        });
      await publishOutboundQueued(world.redis, "ih");
      await until("two out from a", async () => (await inbox()).length >= 2, 20_000, 50);
      // the third is claimed now, waiting out a's 1.5 s gap: hand the number over
      await until(
        "one in flight",
        async () => (await world.db.message.count({ where: { instanceId: "ih", status: "SENDING" } })) === 1,
        5000,
        20,
      );
      expect(a.m.owned()).toEqual(["ih"]);
      expect(await a.m.drain(10_000)).toBe(true);
      // a has sent nothing more since it let go
      const atHandover = (await inbox()).length;
      await until(
        "b owns it",
        async () => b.m.owned().includes("ih") && (await world.redis.get("gw:lease:ih")) === "hand-b",
        15_000,
      );

      const all = await until(
        "all 6 on the phone",
        async () => {
          const got = await inbox();
          return new Set(got.map((m) => m.text)).size === 6 ? got : undefined;
        },
        20_000,
      );
      expect(atHandover).toBeLessThan(6);
      expect(all.map((m) => m.text)).toEqual(texts);
      const rows = await world.db.message.findMany({
        where: { instanceId: "ih", direction: "OUTBOUND" },
        orderBy: { createdAt: "asc" },
      });
      await until(
        "every row SENT",
        async () => (await world.db.message.count({ where: { instanceId: "ih", status: "SENT" } })) === 6,
        10_000,
      );
      // each row's WhatsApp id is the one the phone has
      expect(rows.map((r) => r.waMessageId)).toEqual(all.map((m) => m.id));
      // the one in flight went out once: claimed by a (given back unsent at the handover), then by b
      const after = await world.db.message.findMany({ where: { instanceId: "ih", direction: "OUTBOUND" } });
      expect(Math.max(...after.map((r) => r.attempts))).toBeLessThanOrEqual(2);
      const devices = await simCall<{ phone: string; pairings: number; maxConcurrentConnections: number }[]>(
        world.sim,
        "GET",
        "/__sandbox/devices",
      );
      expect(devices.find((d) => d.phone === NUMBER)).toMatchObject({ pairings: 1, maxConcurrentConnections: 1 });
    } finally {
      await a.close().catch(() => {});
      await b.close();
    }
  });
});
