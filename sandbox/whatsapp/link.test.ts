import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWaSimulator, type WaSimulator } from "./server";
import { closeCode, connectClient, control, endClient, memoryAuth, waitFor, waitOpen } from "./test-kit";

let sim: WaSimulator;
beforeAll(async () => {
  sim = await startWaSimulator({ port: 0 });
});
afterAll(async () => {
  await sim.close();
});

interface DeviceView {
  jid: string;
  connected: boolean;
  connections: number;
  maxConcurrentConnections: number;
  logins: number;
  pairings: number;
}

describe("linking the real Baileys client", () => {
  it("QR → scan → 515 restart → open; a restart with the stored creds opens without a QR", async () => {
    const phone = "15551110001";
    await control(sim, "POST", "/__sandbox/phones", { phone, name: "Shop" });
    const auth = memoryAuth();
    const first = connectClient(sim, auth);
    const { qr } = await waitFor(first, "connection.update", (u) => !!u.qr);
    expect(qr).toMatch(/^https:\/\/wa\.me\/settings\/linked_devices#/);
    const newLogin = waitFor(first, "connection.update", (u) => u.isNewLogin === true);
    const closed = waitFor(first, "connection.update", (u) => u.connection === "close");
    const scan = await control<DeviceView>(sim, "POST", `/__sandbox/phones/${phone}/scan`, { qr });
    expect(scan.status).toBe(200);
    await newLogin;
    expect(closeCode(await closed)).toBe(515);
    expect(auth.creds.me?.id).toBe(`${phone}:1@s.whatsapp.net`);
    expect(auth.creds.registered || auth.creds.account).toBeTruthy();

    const second = connectClient(sim, auth);
    let sawQr = false;
    second.ev.on("connection.update", (u) => {
      if (u.qr) sawQr = true;
    });
    await waitOpen(second);
    expect(second.user?.id).toBe(`${phone}:1@s.whatsapp.net`);
    expect(second.user?.lid).toMatch(/^\d+:1@lid$/);
    endClient(second);

    // a process restart: a new socket over the same stored creds, still no QR, still one pairing
    const third = connectClient(sim, auth);
    third.ev.on("connection.update", (u) => {
      if (u.qr) sawQr = true;
    });
    await waitOpen(third);
    expect(sawQr).toBe(false);
    const devices = (await control<DeviceView[]>(sim, "GET", "/__sandbox/devices")).body.filter((d) =>
      d.jid.startsWith(phone),
    );
    expect(devices).toHaveLength(1);
    expect(devices[0]).toMatchObject({
      connected: true,
      connections: 1,
      maxConcurrentConnections: 1,
      logins: 2,
      pairings: 1,
    });
    endClient(third);
  });

  it("links by pairing code: the phone enters the code the client shows", async () => {
    const phone = "15551110002";
    await control(sim, "POST", "/__sandbox/phones", { phone });
    const auth = memoryAuth();
    const sock = connectClient(sim, auth);
    await waitFor(sock, "connection.update", (u) => !!u.qr);
    const code = await sock.requestPairingCode(phone);
    expect(code).toMatch(/^[0-9A-Z]{8}$/);

    const wrong = await control(sim, "POST", `/__sandbox/phones/${phone}/pair-code`, {
      code: code === "AAAAAAAA" ? "BBBBBBBB" : "AAAAAAAA",
    });
    expect(wrong.status).toBe(400);

    // the user asks for a new code on the same socket and types that one
    const code2 = await sock.requestPairingCode(phone);
    const closed = waitFor(sock, "connection.update", (u) => u.connection === "close");
    const ok = await control<DeviceView>(sim, "POST", `/__sandbox/phones/${phone}/pair-code`, { code: code2 });
    expect(ok.status).toBe(200);
    expect(ok.body.jid).toBe(`${phone}:1@s.whatsapp.net`);
    expect(closeCode(await closed)).toBe(515);

    const sock2 = connectClient(sim, auth);
    await waitOpen(sock2);
    expect(sock2.user?.id).toBe(`${phone}:1@s.whatsapp.net`);
    endClient(sock2);
  });

  it("answers health with the root key a client must trust", async () => {
    const h = await control<{ ok: boolean; rootPublicKey: string; mediaCaPem: string }>(
      sim,
      "GET",
      "/__sandbox/health",
    );
    expect(h.body).toMatchObject({ ok: true, rootPublicKey: sim.rootPublicKey, mediaCaPem: sim.mediaCaPem });
    expect(h.body.mediaCaPem).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(h.body.rootPublicKey).toMatch(/^[0-9a-f]{64}$/);
  });
});
