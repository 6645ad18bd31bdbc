import { DisconnectReason, proto, type WAMessage, type WASocket } from "@whiskeysockets/baileys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWaSimulator, type WaSimulator } from "./server";
import type { InboxEntry } from "./state";
import {
  closeCode,
  connectClient,
  control,
  endClient,
  linkByQr,
  type MemoryAuth,
  until,
  waitFor,
  waitOpen,
} from "./test-kit";

let sim: WaSimulator;
const open: WASocket[] = [];
beforeAll(async () => {
  sim = await startWaSimulator({ port: 0 });
});
afterAll(async () => {
  for (const s of open) endClient(s);
  await sim.close();
});

async function linked(phone: string): Promise<{ sock: WASocket; auth: MemoryAuth }> {
  const r = await linkByQr(sim, phone);
  open.push(r.sock);
  return r;
}

async function reconnect(auth: MemoryAuth): Promise<WASocket> {
  const sock = connectClient(sim, auth);
  open.push(sock);
  await waitOpen(sock);
  return sock;
}

const closed = (sock: WASocket) => waitFor(sock, "connection.update", (u) => u.connection === "close").then(closeCode);

describe("faults: the client sees the disconnect code WhatsApp would send", () => {
  const PHONE = "15553330001";
  let auth: MemoryAuth;
  let sock: WASocket;
  beforeAll(async () => {
    ({ sock, auth } = await linked(PHONE));
  }, 30_000); // linking takes < 1 s, but the default 10 s hook timeout is tight on a loaded 2-core box

  it("drop → connectionClosed (428); messages sent meanwhile arrive after the next login", async () => {
    const c = closed(sock);
    expect(
      (await control<{ affected: number }>(sim, "POST", "/__sandbox/faults", { phone: PHONE, kind: "drop" })).body
        .affected,
    ).toBe(1);
    expect(await c).toBe(DisconnectReason.connectionClosed);

    await control(sim, "POST", "/__sandbox/phones", { phone: "15553339999", name: "Dana" });
    await control(sim, "POST", "/__sandbox/phones/15553339999/send", { to: PHONE, text: "sent while you were away" });
    const next = connectClient(sim, auth);
    open.push(next);
    const got = waitFor(next, "messages.upsert", (u) =>
      u.messages.some((m) => m.message?.conversation === "sent while you were away"),
    );
    await waitOpen(next);
    await got;
    sock = next;
  });

  it.each([
    [515, DisconnectReason.restartRequired],
    [440, DisconnectReason.connectionReplaced],
    [503, DisconnectReason.unavailableService],
    // as stream errors alone (the device stays linked, so the same creds log in again)
    [401, DisconnectReason.loggedOut],
    [403, DisconnectReason.forbidden],
  ])("stream error %i → %i", async (code, expected) => {
    const c = closed(sock);
    await control(sim, "POST", "/__sandbox/faults", { phone: PHONE, kind: "stream-error", code });
    expect(await c).toBe(expected);
    sock = await reconnect(auth);
  });

  it("a second socket on the same creds replaces the first (440) and is counted", async () => {
    const c = closed(sock);
    const second = await reconnect(auth);
    expect(await c).toBe(DisconnectReason.connectionReplaced);
    const devices = (
      await control<{ jid: string; connections: number; maxConcurrentConnections: number }[]>(
        sim,
        "GET",
        "/__sandbox/devices",
      )
    ).body;
    const d = devices.find((x) => x.jid.startsWith(PHONE));
    expect(d?.maxConcurrentConnections).toBe(2);
    expect(d?.connections).toBe(1);
    sock = second;
  });

  it("delayed acks: the server's ack for a sent message arrives only after the delay", async () => {
    await control(sim, "POST", "/__sandbox/faults", { phone: PHONE, kind: "delay-acks", delayMs: 700 });
    await control(sim, "POST", "/__sandbox/phones", { phone: "15553338888" });
    const started = Date.now();
    const acked = new Promise<number>((resolve) =>
      sock.ws.on("CB:ack,class:message", () => resolve(Date.now() - started)),
    );
    await sock.sendMessage("15553338888@s.whatsapp.net", { text: "slow ack" });
    expect(await acked).toBeGreaterThanOrEqual(650);
    await control(sim, "POST", "/__sandbox/faults", { phone: PHONE, kind: "delay-acks", delayMs: 0 });
  });

  it("nack: the next `count` messages are answered with an error ack, reported as status 0, not delivered", async () => {
    const contact = "15553337777";
    await control(sim, "POST", "/__sandbox/phones", { phone: contact });
    expect((await control(sim, "POST", "/__sandbox/faults", { phone: PHONE, kind: "nack" })).status).toBe(400); // no code
    await control(sim, "POST", "/__sandbox/faults", { phone: PHONE, kind: "nack", code: 479, count: 2 });
    // handleBadAck emits messages.update {status: 0, messageStubParameters: [code]}; when the ack
    // lands while Baileys still buffers its own upsert of the message (our ack is immediate), the
    // buffer folds that update into the upsert, so a client must read the status from both
    const errors = new Map<string, unknown>();
    const ERROR = proto.WebMessageInfo.Status.ERROR;
    sock.ev.on("messages.update", (u) => {
      for (const x of u) if (x.update.status === ERROR) errors.set(x.key.id ?? "", x.update.messageStubParameters);
    });
    sock.ev.on("messages.upsert", (u) => {
      for (const m of u.messages)
        if (m.key.fromMe && m.status === ERROR) errors.set(m.key.id ?? "", m.messageStubParameters);
    });
    const ids: string[] = [];
    for (const text of ["refused 1", "refused 2", "accepted"])
      ids.push(((await sock.sendMessage(`${contact}@s.whatsapp.net`, { text })) as WAMessage).key.id as string);
    const inbox = async () => (await control<InboxEntry[]>(sim, "GET", `/__sandbox/phones/${contact}/inbox`)).body;
    await until("the accepted one arrives", async () => (await inbox()).some((e) => e.id === ids[2]));
    await until("both refusals are reported", () => errors.size === 2);
    expect(errors.get(ids[0])).toEqual(["479"]);
    expect(errors.get(ids[1])).toEqual(["479"]);
    expect(errors.has(ids[2])).toBe(false);
    expect((await inbox()).map((e) => e.text)).toEqual(["accepted"]);
  });

  it("unlink from the phone → loggedOut (401), and the stored creds no longer log in", async () => {
    const c = closed(sock);
    expect((await control(sim, "POST", `/__sandbox/phones/${PHONE}/unlink`)).status).toBe(200);
    expect(await c).toBe(DisconnectReason.loggedOut);
    const again = connectClient(sim, auth);
    open.push(again);
    expect(await closed(again)).toBe(DisconnectReason.loggedOut);
  });

  it("ban → forbidden (403) on the live socket and at every login", async () => {
    const phone = "15553330002";
    const r = await linked(phone);
    const c = closed(r.sock);
    await control(sim, "POST", "/__sandbox/faults", { phone, kind: "ban" });
    expect(await c).toBe(DisconnectReason.forbidden);
    const again = connectClient(sim, r.auth);
    open.push(again);
    expect(await closed(again)).toBe(DisconnectReason.forbidden);
    await control(sim, "POST", "/__sandbox/faults", { phone, kind: "unban" });
    await reconnect(r.auth);
  });
});
