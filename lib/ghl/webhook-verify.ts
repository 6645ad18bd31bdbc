import { createPublicKey, createVerify, verify as edVerify, type KeyObject } from "node:crypto";

// GHL signs webhooks over the exact bytes it sent (docs/ghl.md#webhook-signatures): Ed25519 in x-ghl-signature,
// legacy RSA-SHA256 in x-wh-signature. Verification runs on the raw body before any parsing, so a
// re-serialised body can never pass by accident.

// GHL's published Ed25519 key (quoted by integrators) and the RSA key of docs/WebhookAuthentication.md,
// used when configuration does not name others.
export const GHL_ED25519_PUBLIC_KEY =
  "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAi2HR1srL4o18O8BRa7gVJY7G7bupbN3H9AwJrHCDiOg=\n-----END PUBLIC KEY-----\n";
export const GHL_RSA_PUBLIC_KEY = `-----BEGIN PUBLIC KEY-----
MIICIjANBgkqhkiG9w0BAQEFAAOCAg8AMIICCgKCAgEAokvo/r9tVgcfZ5DysOSC
Frm602qYV0MaAiNnX9O8KxMbiyRKWeL9JpCpVpt4XHIcBOK4u3cLSqJGOLaPuXw6
dO0t6Q/ZVdAV5Phz+ZtzPL16iCGeK9po6D6JHBpbi989mmzMryUnQJezlYJ3DVfB
csedpinheNnyYeFXolrJvcsjDtfAeRx5ByHQmTnSdFUzuAnC9/GepgLT9SM4nCpv
uxmZMxrJt5Rw+VUaQ9B8JSvbMPpez4peKaJPZHBbU3OdeCVx5klVXXZQGNHOs8gF
3kvoV5rTnXV0IknLBXlcKKAQLZcY/Q9rG6Ifi9c+5vqlvHPCUJFT5XUGG5RKgOKU
J062fRtN+rLYZUV+BjafxQauvC8wSWeYja63VSUruvmNj8xkx2zE/Juc+yjLjTXp
IocmaiFeAO6fUtNjDeFVkhf5LNb59vECyrHD2SQIrhgXpO4Q3dVNA5rw576PwTzN
h/AMfHKIjE4xQA1SZuYJmNnmVZLIZBlQAF9Ntd03rfadZ+yDiOXCCs9FkHibELhC
HULgCsnuDJHcrGNd5/Ddm5hxGQ0ASitgHeMZ0kcIOwKDOzOU53lDza6/Y09T7sYJ
PQe7z0cvj7aE4B+Ax1ZoZGPzpJlZtGXCsu9aTEGEnKzmsFqwcSsnw3JB31IGKAyk
T1hhTiaCeIY/OwwwNUY2yvcCAwEAAQ==
-----END PUBLIC KEY-----
`;

export type WebhookKeys = { ed25519: KeyObject | null; rsa: KeyObject | null };

/** PEM text as configured (env values often carry literal "\n"); empty → GHL's published key. */
export function webhookKeys(cfg: { ed25519?: string; rsa?: string }): WebhookKeys {
  const pem = (v: string | undefined, fallback: string) =>
    createPublicKey((v && v.trim() ? v : fallback).replace(/\\n/g, "\n"));
  return { ed25519: pem(cfg.ed25519, GHL_ED25519_PUBLIC_KEY), rsa: pem(cfg.rsa, GHL_RSA_PUBLIC_KEY) };
}

export type SignatureCheck = { ok: true; scheme: "ed25519" | "rsa" } | { ok: false; reason: "missing" | "invalid" };

/**
 * Ed25519 wins when both headers are present (GHL is retiring RSA); a present but wrong Ed25519
 * signature is not rescued by a valid RSA one, so a downgrade cannot slip through.
 */
export function verifyWebhookSignature(raw: Buffer, headers: Headers, keys: WebhookKeys): SignatureCheck {
  const ed = headers.get("x-ghl-signature");
  const rsa = headers.get("x-wh-signature");
  if (ed && keys.ed25519) {
    return safe(() => edVerify(null, raw, keys.ed25519!, Buffer.from(ed, "base64")))
      ? { ok: true, scheme: "ed25519" }
      : { ok: false, reason: "invalid" };
  }
  if (rsa && keys.rsa) {
    const ok = safe(() => createVerify("SHA256").update(raw).end().verify(keys.rsa!, rsa, "base64"));
    return ok ? { ok: true, scheme: "rsa" } : { ok: false, reason: "invalid" };
  }
  return { ok: false, reason: ed || rsa ? "invalid" : "missing" };
}

export const WEBHOOK_MAX_AGE_MS = 5 * 60 * 1000;

/** A timestamp older than 5 minutes (or implausibly far in the future) is a replay. */
export function isStale(timestamp: string | undefined, now = Date.now()): boolean {
  if (timestamp === undefined) return false;
  const t = Date.parse(timestamp);
  if (Number.isNaN(t)) return true;
  return now - t > WEBHOOK_MAX_AGE_MS || t - now > WEBHOOK_MAX_AGE_MS;
}

function safe(f: () => boolean): boolean {
  try {
    return f();
  } catch {
    return false;
  }
}
