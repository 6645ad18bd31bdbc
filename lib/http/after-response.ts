import { after } from "next/server";

// Work that must not delay the answer (GHL wants a fast 2xx). Inside Next it runs after the response
// is sent; outside a request scope (tests calling a handler directly) it simply runs detached.
export function afterResponse(fn: () => Promise<void>): void {
  try {
    after(fn);
  } catch {
    void fn().catch(() => {});
  }
}
