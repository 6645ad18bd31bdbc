import { createSign, generateKeyPairSync, sign } from "node:crypto";
import { describe, expect, it } from "vitest";
import { GHL_RSA_PUBLIC_KEY, isStale, verifyWebhookSignature, webhookKeys } from "./webhook-verify";

const ed = generateKeyPairSync("ed25519", {
  publicKeyEncoding: { type: "spki", format: "pem" },
  privateKeyEncoding: { type: "pkcs8", format: "pem" },
});
const rsa = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  publicKeyEncoding: { type: "spki", format: "pem" },
  privateKeyEncoding: { type: "pkcs8", format: "pem" },
});
const keys = webhookKeys({ ed25519: ed.publicKey, rsa: rsa.publicKey });
const raw = Buffer.from(
  JSON.stringify({
    type: "UNINSTALL",
    appId: "a",
    locationId: "L1",
    timestamp: new Date().toISOString(),
    webhookId: "w1",
  }),
);
const edSig = (b: Buffer, key = ed.privateKey) => sign(null, b, key).toString("base64");
const rsaSig = (b: Buffer) => createSign("SHA256").update(b).end().sign(rsa.privateKey, "base64");
const h = (o: Record<string, string>) => new Headers(o);

describe("GHL webhook signatures", () => {
  it("accepts a valid Ed25519 signature over the raw body", () => {
    expect(verifyWebhookSignature(raw, h({ "x-ghl-signature": edSig(raw) }), keys)).toEqual({
      ok: true,
      scheme: "ed25519",
    });
  });
  it("accepts a valid legacy RSA signature", () => {
    expect(verifyWebhookSignature(raw, h({ "x-wh-signature": rsaSig(raw) }), keys)).toEqual({
      ok: true,
      scheme: "rsa",
    });
  });
  it("rejects a body changed after signing, even by re-serialising it", () => {
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(raw.toString()), null, 1));
    expect(verifyWebhookSignature(reserialised, h({ "x-ghl-signature": edSig(raw) }), keys).ok).toBe(false);
    expect(verifyWebhookSignature(reserialised, h({ "x-wh-signature": rsaSig(raw) }), keys).ok).toBe(false);
  });
  it("rejects a signature by another key (forged) and garbage", () => {
    const other = generateKeyPairSync("ed25519");
    expect(
      verifyWebhookSignature(raw, h({ "x-ghl-signature": sign(null, raw, other.privateKey).toString("base64") }), keys),
    ).toEqual({ ok: false, reason: "invalid" });
    expect(verifyWebhookSignature(raw, h({ "x-wh-signature": "AAAA" }), keys)).toEqual({
      ok: false,
      reason: "invalid",
    });
  });
  it("rejects an unsigned call", () => {
    expect(verifyWebhookSignature(raw, h({}), keys)).toEqual({ ok: false, reason: "missing" });
  });
  it("does not let a valid RSA signature rescue a forged Ed25519 one", () => {
    const headers = h({ "x-ghl-signature": edSig(Buffer.from("other")), "x-wh-signature": rsaSig(raw) });
    expect(verifyWebhookSignature(raw, headers, keys).ok).toBe(false);
  });
  it("defaults to GHL's published keys (RSA key of WebhookAuthentication.md)", () => {
    const k = webhookKeys({});
    expect(k.rsa!.export({ type: "spki", format: "pem" })).toBe(GHL_RSA_PUBLIC_KEY);
    expect(k.ed25519!.asymmetricKeyType).toBe("ed25519");
    expect(verifyWebhookSignature(raw, h({ "x-ghl-signature": edSig(raw) }), k).ok).toBe(false);
  });
  it("treats timestamps outside ±5 minutes as stale", () => {
    const now = Date.parse("2026-01-01T12:00:00Z");
    expect(isStale("2026-01-01T11:56:00Z", now)).toBe(false);
    expect(isStale("2026-01-01T11:54:59Z", now)).toBe(true);
    expect(isStale("2026-01-01T12:06:00Z", now)).toBe(true);
    expect(isStale("yesterday", now)).toBe(true);
    expect(isStale(undefined, now)).toBe(false);
  });
});
