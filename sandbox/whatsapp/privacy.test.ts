import { type BinaryNode, proto, type WAMessage, type WASocket } from "@whiskeysockets/baileys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWaSimulator, type WaSimulator } from "./server";
import type { InboxEntry } from "./state";
import { control, endClient, linkByQr, type MemoryAuth, until, waitFor } from "./test-kit";

const ME = "15558880001";
const EVE = "15558880002"; // writes first: ME holds her token
const FRED = "15558880003"; // never wrote: ME holds no token
let sim: WaSimulator;
let sock: WASocket;
let auth: MemoryAuth;
const lids: Record<string, string> = {};

beforeAll(async () => {
  sim = await startWaSimulator({ port: 0 });
  ({ sock, auth } = await linkByQr(sim, ME));
  for (const [phone, name] of [
    [EVE, "Eve"],
    [FRED, "Fred"],
  ]) {
    lids[phone] = (await control<{ lid: string }>(sim, "POST", "/__sandbox/phones", { phone, name })).body.lid;
  }
}, 30_000); // linking takes < 1 s, but the default 10 s hook timeout is tight on a loaded 2-core box
afterAll(async () => {
  endClient(sock);
  await sim.close();
});

const inboxOf = async (phone: string) =>
  (await control<InboxEntry[]>(sim, "GET", `/__sandbox/phones/${phone}/inbox`)).body;
const send = async (phone: string, text: string) =>
  ((await sock.sendMessage(`${phone}@s.whatsapp.net`, { text })) as WAMessage).key.id as string;
const issuances = async () =>
  (
    await control<{ jid: string; tctokenIssuances: Record<string, number> }[]>(sim, "GET", "/__sandbox/devices")
  ).body.find((d) => d.jid.startsWith(ME))?.tctokenIssuances ?? {};

describe("privacy tokens", () => {
  it("a contact's first message is preceded by its privacy_token; the companion stores and attaches it", async () => {
    const order: string[] = [];
    const onNode = (n: BinaryNode) => order.push(`${n.tag}:${n.attrs.type}`);
    sock.ws.on("CB:notification", onNode);
    sock.ws.on("CB:message", onNode);
    const got = waitFor(sock, "messages.upsert", (u) =>
      u.messages.some((m) => m.message?.conversation === "hi, I am Eve"),
    );
    await control(sim, "POST", `/__sandbox/phones/${EVE}/send`, { to: ME, text: "hi, I am Eve" });
    await got;
    const again = waitFor(sock, "messages.upsert", (u) =>
      u.messages.some((m) => m.message?.conversation === "Eve again"),
    );
    await control(sim, "POST", `/__sandbox/phones/${EVE}/send`, { to: ME, text: "Eve again" });
    await again;
    sock.ws.off("CB:notification", onNode);
    sock.ws.off("CB:message", onNode);
    expect(order).toEqual(["notification:privacy_token", "message:text", "message:text"]);
    const stored = await auth.keys.get("tctoken", [lids[EVE]]);
    expect(stored[lids[EVE]]?.token?.length).toBeGreaterThan(0);

    const id = await send(EVE, "answer with the token");
    await until("Eve has it", async () => (await inboxOf(EVE)).some((e) => e.id === id));
    expect((await inboxOf(EVE)).find((e) => e.id === id)?.tctoken).toBe(true);
  });

  it("a message to a contact who never wrote carries no token; issuance IQs are counted per contact", async () => {
    const id = await send(FRED, "cold message");
    await until("Fred has it", async () => (await inboxOf(FRED)).some((e) => e.id === id));
    expect((await inboxOf(FRED)).find((e) => e.id === id)?.tctoken).toBe(false);
    // rc14 issues its own token to the contact after sending (fire and forget)
    await until("both issuances are counted", async () => {
      const n = await issuances();
      return (n[EVE] ?? 0) >= 1 && (n[FRED] ?? 0) >= 1;
    });
  });

  it("a locked account: a message without a valid token is refused with 463; with one it goes through", async () => {
    expect((await control(sim, "POST", `/__sandbox/phones/${ME}/restrict`, { reachout: "sideways" })).status).toBe(400);
    const locked = await control<{ reachout: string }>(sim, "POST", `/__sandbox/phones/${ME}/restrict`, {
      reachout: "locked",
    });
    expect(locked.body.reachout).toBe("locked");
    const ERROR = proto.WebMessageInfo.Status.ERROR;
    const errors = new Map<string, unknown>();
    // the error ack may be folded into Baileys' buffered upsert of its own message (see faults.test)
    sock.ev.on("messages.update", (u) => {
      for (const x of u) if (x.update.status === ERROR) errors.set(x.key.id ?? "", x.update.messageStubParameters);
    });
    sock.ev.on("messages.upsert", (u) => {
      for (const m of u.messages)
        if (m.key.fromMe && m.status === ERROR) errors.set(m.key.id ?? "", m.messageStubParameters);
    });

    const refused = await send(FRED, "cold while locked");
    const trusted = await send(EVE, "warm while locked");
    await until("the trusted one arrives", async () => (await inboxOf(EVE)).some((e) => e.id === trusted));
    await until("the refusal is reported", () => errors.has(refused));
    // rc14 adds its restriction text because 463 is also its SenderReachoutTimelocked reason
    expect(errors.get(refused)).toEqual(["463", "Your account has been restricted"]);
    expect(errors.has(trusted)).toBe(false);
    expect((await inboxOf(FRED)).some((e) => e.id === refused)).toBe(false);

    await control(sim, "POST", `/__sandbox/phones/${ME}/restrict`, { reachout: "open" });
    const again = await send(FRED, "open again");
    await until("Fred gets it once open", async () => (await inboxOf(FRED)).some((e) => e.id === again));
  });
});
