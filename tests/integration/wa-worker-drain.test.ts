import { spawn } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { acceptOutbound } from "@/lib/messages/accept-outbound";
import { publishOutboundQueued } from "@/lib/messages/outbound-signal";
import { makeManager, makeMessagingWorker, managerConfig, simCall, until, watchEvents } from "./helpers/wa-fixture";
import { useWaWorld } from "./helpers/wa-world";

// The worker process (worker/main.ts) on SIGTERM drains (docs/architecture.md#sharing-numbers-between-workers):
// /ready answers 503 at once, while its number, with a send in flight, is handed over; it exits 0;
// another worker takes the number without a rescan and sends the rest, each message once.
const NUMBER = "15554460001";
const CONTACT = "15554469999";
const world = useWaWorld(import.meta.filename, { location: "locD", instance: "id1", phones: [NUMBER, CONTACT] });

const inbox = () => simCall<{ id: string; text?: string }[]>(world.sim, "GET", `/__sandbox/phones/${CONTACT}/inbox`);
const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
type Ready = { status: number; body: { draining?: boolean } };
const ready = (port: number): Promise<Ready> =>
  fetch(`http://127.0.0.1:${port}/ready`).then(
    async (r) => ({ status: r.status, body: (await r.json()) as Ready["body"] }),
    () => ({ status: 0, body: {} }),
  );

// no retry: the first attempt links the number, so a second could only time out waiting for a QR
describe("a worker process told to stop", { retry: 0 }, () => {
  it("answers /ready 503 at once, hands its number over and exits 0", async () => {
    const ev = await watchEvents(`${process.env.TEST_REDIS_URL}/1`, "locD");
    const linker = makeManager(world.db, managerConfig(world.sim as never, world.dbUrl, "linker"));
    await linker.m.start();
    const qr = await until("a QR", async () => ev.events.find((e) => e.type === "instance.qr"));
    await simCall(world.sim, "POST", `/__sandbox/phones/${NUMBER}/scan`, { qr: (qr as { qr: string }).qr });
    await until(
      "ONLINE",
      async () => (await world.db.instance.findUnique({ where: { id: "id1" } }))?.status === "ONLINE",
    );
    await linker.close();
    await ev.close();

    const port = await freePort();
    const child = spawn(process.execPath, ["--import", "tsx", path.join(import.meta.dirname, "../../worker/main.ts")], {
      env: {
        ...process.env,
        LOG_LEVEL: "silent",
        APP_URL: "http://127.0.0.1:3999",
        DATABASE_URL: world.dbUrl,
        REDIS_URL: `${process.env.TEST_REDIS_URL}/1`,
        GHL_CLIENT_ID: "testapp-client",
        GHL_CLIENT_SECRET: "test-client-secret",
        GHL_SSO_KEY: "test-sso-shared-secret",
        WA_WEBSOCKET_URL: world.sim.wsUrl,
        WA_SANDBOX_ROOT_PUBLIC_KEY: world.sim.rootPublicKey,
        WA_SANDBOX_MEDIA_CA_PEM: world.sim.mediaCaPem,
        WORKER_HTTP_PORT: String(port),
        WORKER_ID: "drainee",
        LEASE_TTL_MS: "6000",
        DRAIN_TIMEOUT_MS: "15000",
        TEXT_DELAY_MS: "2500",
      },
      stdio: ["ignore", "ignore", "pipe"],
    });
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    // a second worker, wired as worker/main.ts wires it (send loops, inbound, sessions)
    const survivor = makeMessagingWorker(world, "survivor", { textDelayMs: 20, pollMs: 200 });
    try {
      await until(
        "the worker process owns the number",
        async () => (await world.redis.get("gw:lease:id1")) === "drainee" && (await ready(port)).status === 200,
        40_000,
        200,
      );
      await until(
        "ONLINE on the worker process",
        async () => (await world.db.instance.findUnique({ where: { id: "id1" } }))?.status === "ONLINE",
        20_000,
      );
      await survivor.start();

      const texts = ["one", "two", "three"];
      for (const t of texts)
        await acceptOutbound(world.db, world.redis, {
          locationId: "locD",
          ghlMessageId: `D-${t}`,
          phone: `+${CONTACT}`,
          text: t,
          attachments: [],
          source: "GHL",
        });
      await publishOutboundQueued(world.redis, "id1");
      await until("the first out", async () => (await inbox()).length >= 1, 20_000, 50);
      // the second is claimed and waits out the 2.5 s gap: stop now
      await until(
        "one in flight",
        async () => (await world.db.message.count({ where: { instanceId: "id1", status: "SENDING" } })) === 1,
        5000,
        20,
      );
      child.kill("SIGTERM");
      const r = await until(
        "/ready answers 503",
        async () => {
          const x = await ready(port);
          return x.status === 503 ? x : undefined;
        },
        2000,
        20,
      );
      expect(r.body.draining).toBe(true);
      expect(await exited).toBe(0);

      await until(
        "the survivor owns it",
        async () => survivor.m.owned().includes("id1") && (await world.redis.get("gw:lease:id1")) === "survivor",
        15_000,
      );
      const all = await until(
        "all 3 on the phone",
        async () => {
          const got = await inbox();
          return got.length >= 3 ? got : undefined;
        },
        20_000,
      );
      expect(all.map((m) => m.text)).toEqual(texts);
      await until(
        "every row SENT",
        async () => (await world.db.message.count({ where: { instanceId: "id1", status: "SENT" } })) === 3,
        10_000,
      );
      const devices = await simCall<{ phone: string; pairings: number; maxConcurrentConnections: number }[]>(
        world.sim,
        "GET",
        "/__sandbox/devices",
      );
      expect(devices.find((d) => d.phone === NUMBER)).toMatchObject({ pairings: 1, maxConcurrentConnections: 1 });
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await survivor.close();
    }
  });
});
