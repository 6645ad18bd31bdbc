import { randomUUID } from "node:crypto";

// The request id is logged with every line of a request and echoed in `x-request-id`, so a caller's
// value is taken only in a bounded, inert form (a proxy's or client's correlation id): anything
// else (overlong, spaces, quotes, control characters that would forge log lines or headers) is
// replaced by a fresh id.
const SAFE_REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function requestIdFrom(headers: Headers): string {
  const presented = headers.get("x-request-id");
  return presented && SAFE_REQUEST_ID.test(presented) ? presented : randomUUID();
}
