import { spawn } from "node:child_process";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { acceptOutbound } from "@/lib/messages/accept-outbound";
import { publishOutboundQueued } from "@/lib/messages/outbound-signal";
import { makeManager, makeMessagingWorker, managerConfig, simCall, until, watchEvents } from "./helpers/wa-fixture";
import { useWaWorld } from "./helpers/wa-world";

// "Nothing accepted is lost": a worker is killed (-9) in the middle of a burst of 50 messages;
// a surviving worker takes the number over without a rescan and finishes the burst — every
// message on the phone once (one WhatsApp id each, so a re-send after the crash is the same
// message to WhatsApp), in the order GHL sent them.
const NUMBER = "15553330001";
const CONTACT = "15553339999";
const world = useWaWorld(import.meta.filename, { location: "locB", instance: "ib", phones: [NUMBER, CONTACT] });

type Inbox = { id: string; text?: string }[];
const inbox = () => simCall<Inbox>(world.sim, "GET", `/__sandbox/phones/${CONTACT}/inbox`);

// no retry: the first attempt links the number, so a second attempt could only time out waiting for a QR
describe("a worker killed mid-burst", { retry: 0 }, () => {
  it("loses nothing, sends nothing twice under a new id, keeps the order", async () => {
    // link once, then hand the number to a worker process
    const ev = await watchEvents(`${process.env.TEST_REDIS_URL}/1`, "locB");
    const linker = makeManager(world.db, managerConfig(world.sim as never, world.dbUrl, "linker"));
    await linker.m.start();
    const qr = await until("a QR", async () => ev.events.find((e) => e.type === "instance.qr"));
    await simCall(world.sim, "POST", `/__sandbox/phones/${NUMBER}/scan`, { qr: (qr as { qr: string }).qr });
    await until(
      "ONLINE",
      async () => (await world.db.instance.findUnique({ where: { id: "ib" } }))?.status === "ONLINE",
    );
    await linker.close();
    await ev.close();

    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        path.join(import.meta.dirname, "helpers/wa-messaging-child.ts"),
        JSON.stringify({ ...managerConfig(world.sim as never, world.dbUrl, "doomed"), textDelayMs: 60 }),
      ],
      {
        env: { ...process.env, LOG_LEVEL: "silent" },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    world.children.push(child);
    await until(
      "the doomed worker to be ONLINE",
      async () =>
        (await world.redis.get("gw:lease:ib")) === "doomed" &&
        (await world.db.instance.findUnique({ where: { id: "ib" } }))?.status === "ONLINE",
      30_000,
    );

    const texts = Array.from({ length: 50 }, (_, i) => `burst ${String(i).padStart(2, "0")}`);
    for (const t of texts)
      await acceptOutbound(world.db, world.redis, {
        locationId: "locB",
        ghlMessageId: `B-${t}`,
        phone: `+${CONTACT}`,
        text: t,
        attachments: [],
        source: "GHL",
      });
    await publishOutboundQueued(world.redis, "ib");
    await until("a few messages out", async () => (await inbox()).length >= 8, 30_000);
    child.kill("SIGKILL");
    const atKill = (await inbox()).length;
    expect(atKill).toBeLessThan(50);

    // a second worker, wired as worker/main.ts wires it (send loops, inbound, sessions)
    const survivor = makeMessagingWorker(world, "survivor", { textDelayMs: 20, pollMs: 200 });
    await survivor.start();
    try {
      const all = await until(
        "all 50 on the phone",
        async () => {
          const got = await inbox();
          return new Set(got.map((m) => m.text)).size === 50 ? got : undefined;
        },
        60_000,
      );
      // one WhatsApp id per message: a copy re-sent after the crash carries the same id
      const idsByText = new Map<string, Set<string>>();
      for (const m of all) (idsByText.get(m.text!) ?? idsByText.set(m.text!, new Set()).get(m.text!)!).add(m.id);
      for (const t of texts) expect(idsByText.get(t)?.size, t).toBe(1);
      // the order GHL sent them
      const firstSeen = [...new Map(all.map((m) => [m.text!, true])).keys()];
      expect(firstSeen).toEqual(texts);
      // the phone can hold the last message a moment before the sender has recorded its ack
      const statuses = async () =>
        (await world.db.message.findMany({ where: { instanceId: "ib", direction: "OUTBOUND" } })).map((r) => r.status);
      await until(
        "every row SENT",
        async () => {
          const s = await statuses();
          return s.length === 50 && s.every((x) => x === "SENT");
        },
        15_000,
      ).catch(async (e) => {
        throw new Error(`${(e as Error).message}; statuses: ${JSON.stringify(await statuses())}`);
      });
      const devices = await simCall<{ phone: string; pairings: number; maxConcurrentConnections: number }[]>(
        world.sim,
        "GET",
        "/__sandbox/devices",
      );
      expect(devices.find((d) => d.phone === NUMBER)).toMatchObject({ pairings: 1, maxConcurrentConnections: 1 });
      process.stdout.write(
        `burst: ${atKill} of 50 on the phone at kill -9; ${all.length - 50} re-sent copies (same ids) after takeover\n`,
      );
    } finally {
      await survivor.close();
    }
  });
});
