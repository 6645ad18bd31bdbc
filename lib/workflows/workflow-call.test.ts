import { describe, expect, it } from "vitest";
import { AppError } from "../errors";
import { readWorkflowCall, WORKFLOW_BODY_MAX_BYTES, WORKFLOW_SECRET_HEADER } from "./workflow-call";

const SECRET = "a-workflow-secret-of-enough-length";
const call = (body: string, headers: Record<string, string> = {}) =>
  new Request("http://app/api/ghl/workflows/send-message", {
    method: "POST",
    body,
    headers: { "content-type": "application/json", ...headers },
  });
const code = (p: Promise<unknown>) =>
  p.then(
    () => "ok",
    (e) => (e instanceof AppError ? e.code : String(e)),
  );

describe("readWorkflowCall", () => {
  it("reads the JSON body of a call carrying the secret header", async () => {
    expect(await readWorkflowCall(call('{"a":1}', { [WORKFLOW_SECRET_HEADER]: SECRET }), SECRET)).toEqual({ a: 1 });
  });
  it("refuses a missing or wrong header (401), and answers 404 when no secret is configured", async () => {
    expect(await code(readWorkflowCall(call("{}"), SECRET))).toBe("unauthorized");
    expect(await code(readWorkflowCall(call("{}", { [WORKFLOW_SECRET_HEADER]: `${SECRET}x` }), SECRET))).toBe(
      "unauthorized",
    );
    expect(await code(readWorkflowCall(call("{}", { [WORKFLOW_SECRET_HEADER]: "" }), SECRET))).toBe("unauthorized");
    expect(await code(readWorkflowCall(call("{}", { [WORKFLOW_SECRET_HEADER]: SECRET }), ""))).toBe("not_found");
  });
  it("wants JSON (415), valid (400), within the cap (413)", async () => {
    const h = { [WORKFLOW_SECRET_HEADER]: SECRET };
    expect(await code(readWorkflowCall(call("{}", { ...h, "content-type": "text/plain" }), SECRET))).toBe(
      "unsupported_media_type",
    );
    expect(await code(readWorkflowCall(call("{nope", h), SECRET))).toBe("bad_request");
    expect(
      await code(readWorkflowCall(call(JSON.stringify({ x: "y".repeat(WORKFLOW_BODY_MAX_BYTES) }), h), SECRET)),
    ).toBe("payload_too_large");
  });
});
