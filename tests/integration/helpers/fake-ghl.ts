import type { GhlCall } from "@/lib/messages/ghl-post";

export type FakeGhlPost = { contactId: string; altId: string; message: string; at: number };

/**
 * A GHL for the order tests: answers after a random 0–25 ms (so that parallel jobs finish in any
 * order), knows no contact or conversation yet, and records every inbound post in `posts`.
 * `fail(altId)` true makes that post answer 500; `calls` gets "METHOD /path" of every call.
 */
export function fakeGhl(
  posts: FakeGhlPost[],
  o: { calls?: string[]; fail?: (altId: string) => boolean } = {},
): GhlCall {
  return async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    o.calls?.push(`${method} ${path.split("?")[0]}`);
    await new Promise((r) => setTimeout(r, Math.random() * 25));
    const b = (body ?? {}) as Record<string, string>;
    if (path.startsWith("/contacts/search/duplicate")) return { contact: null } as T;
    if (path === "/contacts/upsert") return { contact: { id: `ghl-${b.phone}` } } as T;
    if (path.startsWith("/conversations/search")) return { conversations: [] } as T;
    if (path === "/conversations/") return { conversation: { id: `conv-${b.contactId}` } } as T;
    if (path === "/conversations/messages/inbound") {
      if (o.fail?.(b.altId)) throw new Error("GHL answered 500");
      posts.push({ contactId: b.contactId, altId: b.altId, message: b.message, at: Date.now() });
      return { messageId: `gm-${b.altId}` } as T;
    }
    throw new Error(`unexpected ${method} ${path}`);
  };
}
