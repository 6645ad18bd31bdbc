import { createHash, randomBytes, randomUUID } from "node:crypto";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

// GHL ids (locations, contacts, conversations, messages) are 20 alphanumeric characters.
export function ghlId(): string {
  const bytes = randomBytes(20);
  let out = "";
  for (const b of bytes) out += ALPHABET[b % ALPHABET.length];
  return out;
}

// Seed ids must stay stable across restarts so a developer's .env and bookmarks keep working.
export function stableId(prefix: string): string {
  return (prefix + "0".repeat(20)).slice(0, 19) + "1";
}

// Conversation provider ids are Mongo ObjectIds (24 hex), as in ConversationProviders.md.
export function objectId(): string {
  return randomBytes(12).toString("hex");
}

export function traceId(): string {
  return randomUUID();
}

export function fingerprint(token: string): string {
  return createHash("sha256").update(token).digest("hex").slice(0, 16);
}

// Logs and /__sandbox/calls never show a whole secret; the tail is enough to tell two apart.
export function mask(secret: string): string {
  return secret.length <= 8 ? "***" : `***${secret.slice(-6)}`;
}
