import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { env } from "./env";

// Every secret column goes through seal/open (AGENTS.md#secrets). Format:
//   v1.<keyId>.<base64url iv>.<base64url ciphertext>.<base64url tag>
// The keyId names the key that sealed it, so keys can rotate: new writes use ENCRYPTION_KEY,
// old rows still open with a key from ENCRYPTION_KEYS_PREVIOUS until re-sealed.

export type Keyring = { current: { id: string; key: Buffer }; all: Map<string, Buffer> };

export function keyringFrom(current: string, previous: string[] = []): Keyring {
  const parse = (s: string) => {
    const [id, b64] = s.split(":");
    const key = Buffer.from(b64, "base64");
    if (!id || key.length !== 32)
      throw new Error(`encryption key ${id || "(no id)"} must be <id>:<base64 of 32 bytes>`);
    return { id, key };
  };
  const cur = parse(current);
  const all = new Map<string, Buffer>([[cur.id, cur.key]]);
  for (const p of previous.map(parse)) {
    const known = all.get(p.id);
    // one id, two keys: values sealed with the other one would silently stop opening
    if (known && !known.equals(p.key))
      throw new Error(`encryption key id ${p.id} is used by two different keys: give the new key a new id`);
    all.set(p.id, p.key);
  }
  return { current: cur, all };
}

let defaultRing: Keyring | undefined;
function ring(): Keyring {
  defaultRing ??= keyringFrom(env().ENCRYPTION_KEY, env().ENCRYPTION_KEYS_PREVIOUS);
  return defaultRing;
}

export class DecryptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DecryptError";
  }
}

export function seal(plaintext: string | Buffer, aad = "", keys: Keyring = ring()): string {
  const iv = randomBytes(12);
  const c = createCipheriv("aes-256-gcm", keys.current.key, iv);
  c.setAAD(Buffer.from(aad));
  const ct = Buffer.concat([
    c.update(typeof plaintext === "string" ? Buffer.from(plaintext, "utf8") : plaintext),
    c.final(),
  ]);
  return ["v1", keys.current.id, b64u(iv), b64u(ct), b64u(c.getAuthTag())].join(".");
}

/** `aad` binds a ciphertext to its row (e.g. the instance id) so it cannot be moved to another. */
export function openToBuffer(sealed: string, aad = "", keys: Keyring = ring()): Buffer {
  const parts = sealed.split(".");
  if (parts.length !== 5 || parts[0] !== "v1") throw new DecryptError("not a sealed value");
  const key = keys.all.get(parts[1]);
  if (!key) throw new DecryptError(`sealed with unknown key id ${parts[1]}`);
  try {
    const d = createDecipheriv("aes-256-gcm", key, Buffer.from(parts[2], "base64url"));
    d.setAAD(Buffer.from(aad));
    d.setAuthTag(Buffer.from(parts[4], "base64url"));
    return Buffer.concat([d.update(Buffer.from(parts[3], "base64url")), d.final()]);
  } catch {
    throw new DecryptError("ciphertext was tampered with or sealed for another record");
  }
}

export function open(sealed: string, aad = "", keys: Keyring = ring()): string {
  return openToBuffer(sealed, aad, keys).toString("utf8");
}

/** The id of the key new values are sealed with (`v1.<id>.…`). */
export function currentKeyId(keys: Keyring = ring()): string {
  return keys.current.id;
}

/** True when the value should be re-sealed with the current key (rotation). */
export function needsReseal(sealed: string, keys: Keyring = ring()): boolean {
  return sealed.split(".")[1] !== keys.current.id;
}

export function sha256Hex(s: string): string {
  return createHash("sha256").update(s).digest("hex");
}

export function hmacHex(key: string | Buffer, data: string): string {
  return createHmac("sha256", key).update(data).digest("hex");
}

export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

/** A sub-key for one purpose (signing media URLs, OAuth state…) derived from the current key: sign with it. */
export function derivedKey(purpose: string, keys: Keyring = ring()): Buffer {
  return derive(keys.current.key, purpose);
}

/**
 * The same sub-key derived from every key of the ring, current first: verify with any of them, so
 * that what was signed before a rotation (a media URL GHL keeps for a week) still verifies.
 */
export function derivedKeys(purpose: string, keys: Keyring = ring()): Buffer[] {
  return [keys.current.key, ...[...keys.all.entries()].filter(([id]) => id !== keys.current.id).map(([, k]) => k)].map(
    (k) => derive(k, purpose),
  );
}

/**
 * The value re-sealed with the current key, or null when it already is (rotation; idempotent).
 * Throws DecryptError when no key of the ring opens it.
 */
export function resealed(sealed: string, aad = "", keys: Keyring = ring()): string | null {
  if (!needsReseal(sealed, keys)) return null;
  return seal(openToBuffer(sealed, aad, keys), aad, keys);
}

function derive(key: Buffer, purpose: string): Buffer {
  return createHmac("sha256", key).update(`derive:${purpose}`).digest();
}

function b64u(b: Buffer) {
  return b.toString("base64url");
}
