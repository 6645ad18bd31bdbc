import { proto, type WAMessage, type WASocket } from "@whiskeysockets/baileys";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWaSimulator, type WaSimulator } from "./server";
import type { InboxEntry } from "./state";
import { connectClient, control, endClient, linkByQr, type MemoryAuth, waitFor, waitOpen } from "./test-kit";

const OWNER = "15557770001";
const CARL = "15557770002";
let sim: WaSimulator;
let sock: WASocket;
let auth: MemoryAuth;
const open: WASocket[] = [];

beforeAll(async () => {
  sim = await startWaSimulator({ port: 0 });
  ({ sock, auth } = await linkByQr(sim, OWNER));
  open.push(sock);
  await control(sim, "POST", "/__sandbox/phones", { phone: CARL, name: "Carl" });
}, 30_000); // linking takes < 1 s, but the default 10 s hook timeout is tight on a loaded 2-core box
afterAll(async () => {
  for (const s of open) endClient(s);
  await sim.close();
});

const typed = (text: string) =>
  control<{ id: string; devices: number }>(sim, "POST", `/__sandbox/phones/${OWNER}/send`, { to: CARL, text });
const copyOf = (s: WASocket, text: string, type = "notify") =>
  waitFor(
    s,
    "messages.upsert",
    (u) => u.type === type && u.messages.some((m) => m.message?.conversation === text),
  ).then((u) => u.messages.find((m) => m.message?.conversation === text) as WAMessage);

describe("the account owner's phone", () => {
  it("what the owner types reaches the contact and, as fromMe, every companion", async () => {
    const first = copyOf(sock, "typed on the phone");
    const r = await typed("typed on the phone");
    expect(r.status).toBe(200);
    expect(r.body.devices).toBe(1);
    const m = await first;
    expect(m.key).toMatchObject({ id: r.body.id, fromMe: true, remoteJid: `${CARL}@s.whatsapp.net` });
    const inbox = (await control<InboxEntry[]>(sim, "GET", `/__sandbox/phones/${CARL}/inbox`)).body;
    expect(inbox.find((e) => e.id === r.body.id)).toMatchObject({ from: OWNER, text: "typed on the phone" });

    // the next one rides the established session (msg, not pkmsg)
    const second = copyOf(sock, "and again");
    await typed("and again");
    expect((await second).key.fromMe).toBe(true);
  });

  it("still decrypts after the companion itself wrote (the phone answers on the companion's session)", async () => {
    const own = waitFor(sock, "messages.upsert", (u) =>
      u.messages.some((m) => m.key.fromMe && m.message?.extendedTextMessage?.text === "from the companion"),
    );
    await sock.sendMessage(`${CARL}@s.whatsapp.net`, { text: "from the companion" });
    await own;
    const next = copyOf(sock, "phone after companion");
    await typed("phone after companion");
    expect((await next).key.fromMe).toBe(true);
  });

  it("the contact's receipts for it reach the companion", async () => {
    const got = copyOf(sock, "read me");
    const { body } = await typed("read me");
    await got;
    const read = waitFor(sock, "messages.update", (u) =>
      u.some((x) => x.key.id === body.id && x.key.fromMe && x.update.status === proto.WebMessageInfo.Status.READ),
    );
    await control(sim, "POST", `/__sandbox/phones/${CARL}/receipts`, { messageIds: [body.id], type: "read" });
    await read;
  });

  it("typed while the companion is offline: replayed at login as append", async () => {
    const closed = waitFor(sock, "connection.update", (u) => u.connection === "close");
    await control(sim, "POST", "/__sandbox/faults", { phone: OWNER, kind: "drop" });
    await closed;
    const { body } = await typed("typed during the outage");
    expect(body.devices).toBe(1);
    sock = connectClient(sim, auth);
    open.push(sock);
    const replayed = copyOf(sock, "typed during the outage", "append");
    await waitOpen(sock);
    expect((await replayed).key).toMatchObject({ id: body.id, fromMe: true, remoteJid: `${CARL}@s.whatsapp.net` });
  });

  it("a number without companions still writes as a contact (409 when the target has none)", async () => {
    const r = await control<{ error: { code: string } }>(sim, "POST", `/__sandbox/phones/${CARL}/send`, {
      to: "15557779999",
      text: "nobody",
    });
    expect(r.status).toBe(409);
    const got = waitFor(sock, "messages.upsert", (u) =>
      u.messages.some((m) => m.message?.conversation === "from Carl" && !m.key.fromMe),
    );
    await control(sim, "POST", `/__sandbox/phones/${CARL}/send`, { to: OWNER, text: "from Carl" });
    await got;
  });
});
