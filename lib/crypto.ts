import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { env } from "./env";

// Every secret column goes through seal/open (conventions.md §7). Format:
//   v1.<keyId>.<base64url iv>.<base64url ciphertext>.<base64url tag>
// The keyId names the key that sealed it, so keys can rotate: new writes use ENCRYPTION_KEY,
// old rows still open with a key from ENCRYPTION_KEYS_PREVIOUS until re-sealed.

export type Keyring = { current: { id: string; key: Buffer }; all: Map<string, Buffer> };

export function keyringFrom(current: string, previous: string[] = []): Keyring {
  const parse = (s: string) => {
    const [id, b64] = s.split(":");
    const key = Buffer.from(b64, "base64");
    if (!id || key.length !== 32) throw new Error(`encryption key ${id || "(no id)"} must be <id>:<base64 of 32 bytes>`);
    return { id, key };
  };
  const cur = parse(current);
  const all = new Map<string, Buffer>([[cur.id, cur.key]]);
  for (const p of previous.map(parse)) if (!all.has(p.id)) all.set(p.id, p.key);
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
  const ct = Buffer.concat([c.update(typeof plaintext === "string" ? Buffer.from(plaintext, "utf8") : plaintext), c.final()]);
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

/** A sub-key for one purpose (signing media URLs, OAuth state…) derived from the current key. */
export function derivedKey(purpose: string, keys: Keyring = ring()): Buffer {
  return createHmac("sha256", keys.current.key).update(`derive:${purpose}`).digest();
}

function b64u(b: Buffer) {
  return b.toString("base64url");
}
