import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "@/lib/db";
import { acceptOutbound } from "@/lib/messages/accept-outbound";
import { publishOutboundQueued } from "@/lib/messages/outbound-signal";
import { metrics } from "@/lib/ops/metrics";
import type { GhlJob } from "@/lib/queue/ghl-jobs";
import { simCall, startMessagingFixture, until, watchEvents } from "./helpers/wa-fixture";

// WhatsApp as it refuses: a restricted number writing first to a contact is acked with 463 (no
// privacy token); a contact that cannot decrypt asks again (retry receipt). Real Baileys client,
// simulator behaving as WhatsApp does.
const NUMBER = "15556660001";
const STRANGER = "15556669991"; // never wrote to the number
const FRIEND = "15556669992"; // wrote first
const SHAKY = "15556669993"; // fails to decrypt once
let db: Db;
let redis: Redis;
let fixture: Awaited<ReturnType<typeof startMessagingFixture>>;
const jobs: GhlJob[] = [];
type Inbox = { id: string; text?: string; tctoken?: boolean }[];

beforeAll(async () => {
  fixture = await startMessagingFixture({
    testFile: import.meta.filename,
    workerId: "err-worker",
    pool: 6,
    notifyGhl: async (j) => void jobs.push(j),
  });
  ({ db, redis } = fixture);
  await db.location.create({ data: { id: "locE", name: "E" } });
  await db.instance.create({ data: { id: "ie", locationId: "locE", name: "wa-01" } });
  for (const phone of [NUMBER, STRANGER, FRIEND, SHAKY])
    await simCall(fixture.sim, "POST", "/__sandbox/phones", { phone });
  const ev = await watchEvents(`${process.env.TEST_REDIS_URL}/1`, "locE");
  await fixture.worker.m.start();
  const qr = await until("a QR", async () => ev.events.find((e) => e.type === "instance.qr"));
  await simCall(fixture.sim, "POST", `/__sandbox/phones/${NUMBER}/scan`, { qr: (qr as { qr: string }).qr });
  await until("ONLINE", async () => (await db.instance.findUnique({ where: { id: "ie" } }))?.status === "ONLINE");
  await ev.close();
});
afterAll(async () => {
  await fixture?.close();
});

async function queue(ghlMessageId: string, phone: string, text: string) {
  const r = await acceptOutbound(db, redis, {
    locationId: "locE",
    ghlMessageId,
    phone: `+${phone}`,
    text,
    attachments: [],
    source: "GHL",
  });
  await publishOutboundQueued(redis, "ie");
  return r.id;
}
const inbox = (phone: string) => simCall<Inbox>(fixture.sim, "GET", `/__sandbox/phones/${phone}/inbox`);
/** The text in the contact's inbox; a message that failed meanwhile fails the wait at once, saying why. */
const delivered = (id: string, phone: string, text: string) =>
  until(
    `"${text}" in ${phone}'s inbox`,
    async () => {
      const got = (await inbox(phone)).find((m) => m.text === text);
      if (got) return got;
      const row = await db.message.findUnique({ where: { id }, select: { status: true, error: true, attempts: true } });
      if (row?.status === "FAILED") throw new Error(`message FAILED instead (attempts ${row.attempts}): ${row.error}`);
      return undefined;
    },
    20_000,
  ).catch(async (e) => {
    const row = await db.message.findUnique({ where: { id } });
    throw new Error(
      `${(e as Error).message}; row: ${JSON.stringify({ status: row?.status, error: row?.error, attempts: row?.attempts, waMessageId: row?.waMessageId })}`,
    );
  });

describe("error acks and retries", { retry: 0 }, () => {
  it("a restricted number writing first: FAILED with the 463 reason, in GHL too, not retried, not delivered", async () => {
    await simCall(fixture.sim, "POST", `/__sandbox/phones/${NUMBER}/restrict`, { reachout: "locked" });
    const before = await metrics().render();
    const id = await queue("E-1", STRANGER, "Hello, new lead");
    const row = await until(
      "FAILED",
      async () => {
        const m = await db.message.findUnique({ where: { id } });
        return m?.status === "FAILED" ? m : undefined;
      },
      20_000,
    ).catch(async (e) => {
      const m = await db.message.findUnique({ where: { id } });
      throw new Error(
        `${(e as Error).message}; row: ${JSON.stringify({ status: m?.status, error: m?.error, attempts: m?.attempts })}`,
      );
    });
    expect(row.error).toMatch(/463/);
    expect(row.error).toMatch(/restricted/);
    const job = await until("a failed status for GHL", async () =>
      jobs.find((j) => j.kind === "status" && j.ghlMessageId === "E-1"),
    );
    expect(job).toMatchObject({ status: "failed" });
    expect((job as { error?: string }).error).toMatch(/463/);
    // not retried: one attempt, still FAILED a while later, nothing in the stranger's inbox
    await new Promise((r) => setTimeout(r, 2000));
    const later = await db.message.findUniqueOrThrow({ where: { id } });
    expect(later.status).toBe("FAILED");
    expect(later.attempts).toBe(1);
    expect((await inbox(STRANGER)).some((m) => m.text === "Hello, new lead")).toBe(false);
    expect(await metrics().render()).toMatch(/gw_wa_send_errors_total\{code="463"\} \d+/);
    expect(before).not.toMatch(/gw_wa_send_errors_total\{code="463"\}/);
  });

  it("a reply to a contact who wrote first carries their privacy token and is delivered, still restricted", async () => {
    await simCall(fixture.sim, "POST", `/__sandbox/phones/${FRIEND}/send`, {
      to: NUMBER,
      text: "Hi, is this the salon?",
    });
    await until("the friend's message stored", async () =>
      db.message.findFirst({ where: { instanceId: "ie", text: "Hi, is this the salon?" } }),
    );
    const id = await queue("E-2", FRIEND, "Yes! How can we help?");
    const got = await delivered(id, FRIEND, "Yes! How can we help?");
    expect(got.tctoken).toBe(true);
    await until("SENT", async () => (await db.message.findUnique({ where: { id } }))?.status === "SENT");
  });

  it("a contact's retry receipt is answered: the message shows once in their inbox", async () => {
    await simCall(fixture.sim, "POST", `/__sandbox/phones/${NUMBER}/restrict`, { reachout: "open" });
    await simCall(fixture.sim, "POST", "/__sandbox/faults", { kind: "undecryptable", phone: SHAKY, count: 1 });
    const id = await queue("E-3", SHAKY, "Your code is 4321");
    await delivered(id, SHAKY, "Your code is 4321");
    await new Promise((r) => setTimeout(r, 1000));
    expect((await inbox(SHAKY)).filter((m) => m.text === "Your code is 4321").length).toBe(1);
    // and after a restart it could still be answered: the stored text is what Baileys gets
    const row = await db.message.findUniqueOrThrow({ where: { id } });
    const content = await fixture.messaging.hooks.getMessage(
      { instanceId: "ie", locationId: "locE" },
      { id: row.waMessageId },
    );
    expect(content).toEqual({ conversation: "Your code is 4321" });
    expect(
      await fixture.messaging.hooks.getMessage({ instanceId: "ie", locationId: "other" }, { id: row.waMessageId }),
    ).toBeUndefined();
  });
});
