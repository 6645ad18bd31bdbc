import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GET as panelMessages } from "@/app/api/panel/messages/route";
import type { Db } from "@/lib/db";
import { acceptOutbound } from "@/lib/messages/accept-outbound";
import { type GhlCall, pushStatusToGhl } from "@/lib/messages/ghl-post";
import { messageLog } from "@/lib/messages/message-log";
import { metrics } from "@/lib/ops/metrics";
import type { GhlJob } from "@/lib/queue/ghl-jobs";
import { params, req } from "./helpers/app-env";
import { ghlSays, identity, panelCookie } from "./helpers/panel-cookie";
import { linkNumberByQr, simCall, startMessagingFixture, until } from "./helpers/wa-fixture";

// The warm-up governor through the real Baileys client and the simulator: a number linked today
// (allowance 20 new chats) is given 25 first messages to 25 new contacts, and replies to two
// contacts who wrote first. 20 new chats and both replies reach the phones; 5 wait with a reason
// in the panel's log and in what GHL is sent (pending, never failed), and go out the next day
// (the send loops' clock moved past UTC midnight).
const NUMBER = "15554440001";
const NEW = Array.from({ length: 25 }, (_, i) => `1555444${String(1000 + i)}`);
const WRITERS = ["15554449001", "15554449002"];
const LOC = "locW";
const REASON = "wa-01 has reached today's limit of new chats (20); sends at 00:00 UTC or from another number";

type Inbox = { id: string; from: string; text?: string; at: string }[];
type Fixture = Awaited<ReturnType<typeof startMessagingFixture>>;
let f: Fixture | undefined;
let db: Db;
let offsetMs = 0;
const jobs: GhlJob[] = [];
/** the bodies GHL's status endpoint received, by GHL message id */
const ghlGot = new Map<string, Record<string, unknown>[]>();

beforeAll(async () => {
  f = await startMessagingFixture({
    testFile: import.meta.filename,
    workerId: "gov-worker",
    pool: 8,
    textDelayMs: 60,
    clock: () => new Date(Date.now() + offsetMs),
    // the product's status push, recorded at GHL's door (docs/ghl.md#message-status)
    notifyGhl: async (job) => {
      jobs.push(job);
      if (job.kind !== "status") return;
      const ghl = async (_method: string, path: string, body?: unknown) => {
        const id = decodeURIComponent(path.split("/")[3]);
        (ghlGot.get(id) ?? ghlGot.set(id, []).get(id)!).push(body as Record<string, unknown>);
        return {};
      };
      await pushStatusToGhl(ghl as GhlCall, job.ghlMessageId, job.status, job.error);
    },
  });
  db = f.db;
  await db.location.create({ data: { id: LOC, name: "W" } });
  await db.instance.create({ data: { id: "iw", locationId: LOC, name: "wa-01" } });
  for (const phone of [NUMBER, ...NEW, ...WRITERS]) await simCall(f.sim, "POST", "/__sandbox/phones", { phone });
});
afterAll(async () => f?.close());

const inbox = (phone: string) => simCall<Inbox>(f!.sim, "GET", `/__sandbox/phones/${phone}/inbox`);
const send = (contact: string, text: string, ghlMessageId: string) =>
  acceptOutbound(db, f!.redis, {
    locationId: LOC,
    ghlMessageId,
    phone: `+${contact}`,
    text,
    attachments: [],
    source: "GHL",
    instanceName: "wa-01",
  });

describe("the warm-up governor on a number linked today", { retry: 0 }, () => {
  it("links the number: its age starts today", async () => {
    await linkNumberByQr(f!, LOC, NUMBER, "iw");
    const i = await db.instance.findUniqueOrThrow({ where: { id: "iw" } });
    expect(i.firstLinkedAt).not.toBeNull();
    expect(Date.now() - i.firstLinkedAt!.getTime()).toBeLessThan(60_000);
  });

  it("sends 20 of 25 new chats and both replies; 5 wait with the reason in the panel and in GHL", {
    timeout: 90_000,
  }, async () => {
    for (const w of WRITERS)
      await simCall(f!.sim, "POST", `/__sandbox/phones/${w}/send`, { to: NUMBER, text: `hi from ${w}` });
    await until(
      "both writers' messages stored",
      async () => (await db.message.count({ where: { locationId: LOC, direction: "INBOUND" } })) === 2,
      30_000,
    );

    for (const [i, c] of NEW.entries()) await send(c, `welcome ${i}`, `G-new-${i}`);
    // queued after the 25: the held ones must not stand in their way
    for (const w of WRITERS) await send(w, `reply to ${w}`, `G-reply-${w}`);

    for (const w of WRITERS) {
      await until(
        `the reply at ${w}`,
        async () => (await inbox(w)).some((m) => m.text === `reply to ${w}`),
        60_000,
        250,
      );
    }
    const held = await until(
      "5 waiting",
      async () => {
        const rows = await messageLog(db, LOC, { status: "WAITING", limit: 50 });
        return rows.length === 5 ? rows : undefined;
      },
      60_000,
      250,
    );
    const got = await Promise.all(
      NEW.map(async (c) => (await inbox(c)).filter((m) => m.text?.startsWith("welcome")).length),
    );
    // FIFO: the first 20 went, the last 5 wait
    expect(got).toEqual([...Array(20).fill(1), ...Array(5).fill(0)]);

    // the panel's message log (GET /api/panel/messages, as the panel's session calls it) says why, and when
    const who = identity({ locationId: LOC, companyId: "coW" });
    await ghlSays(f!.redis, who);
    const res = await panelMessages(
      req("/api/panel/messages?status=WAITING", { headers: { cookie: await panelCookie(who) } }),
      params({}),
    );
    expect(res.status).toBe(200);
    const panel = ((await res.json()) as { messages: typeof held }).messages;
    const tomorrow = new Date(
      Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate() + 1),
    );
    expect(panel.map((r) => r.contact).sort()).toEqual(
      NEW.slice(20)
        .map((c) => `+${c}`)
        .sort(),
    );
    for (const r of panel)
      expect(r).toMatchObject({ status: "WAITING", error: REASON, sendsAt: tomorrow.toISOString(), number: "wa-01" });

    // GHL was told pending with the reason, never failed
    for (let i = 20; i < 25; i++) {
      expect(ghlGot.get(`G-new-${i}`)).toEqual([
        { status: "pending", error: { code: "1", type: "saas", message: REASON } },
      ]);
    }
    expect(jobs.filter((j) => j.kind === "status" && j.status === "failed")).toEqual([]);
    const rows = await db.message.findMany({ where: { locationId: LOC, direction: "OUTBOUND" } });
    expect(rows.filter((r) => r.status === "FAILED")).toEqual([]);
    expect(rows.filter((r) => r.newChat && r.sentAt)).toHaveLength(20);

    expect(await metrics().render()).toMatch(/^gw_governor_held_total\{limit="new_chats"\} 5$/m);

    // still waiting a while later: the sweep does not let them out today
    await new Promise((r) => setTimeout(r, 1500));
    expect(await db.message.count({ where: { locationId: LOC, status: "WAITING" } })).toBe(5);
  });

  it("the next day (UTC), the 5 go out, once each", { timeout: 60_000 }, async () => {
    const now = new Date();
    offsetMs = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1, 0, 1) - now.getTime();
    await until(
      "the 5 at their phones",
      async () => {
        const got = await Promise.all(
          NEW.slice(20).map(async (c) => (await inbox(c)).filter((m) => m.text?.startsWith("welcome")).length),
        );
        return got.every((n) => n === 1);
      },
      30_000,
      250,
    );
    await until(
      "no message waiting",
      async () =>
        (await db.message.count({ where: { locationId: LOC, status: { in: ["WAITING", "QUEUED", "SENDING"] } } })) ===
        0,
      10_000,
    );
    const all = await Promise.all(
      NEW.map(async (c) => (await inbox(c)).filter((m) => m.text?.startsWith("welcome")).length),
    );
    expect(all).toEqual(Array(25).fill(1));
    // they count as the new day's new chats
    const next = await db.message.findMany({
      where: { locationId: LOC, ghlMessageId: { in: NEW.slice(20).map((_, i) => `G-new-${20 + i}`) } },
    });
    for (const m of next) {
      expect(m.newChat).toBe(true);
      expect(m.sentAt!.getTime()).toBeGreaterThanOrEqual(Date.now() + offsetMs - 60_000);
      expect(m.error).toBeNull();
    }
  });
});
