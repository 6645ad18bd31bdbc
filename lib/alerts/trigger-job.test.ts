import { describe, expect, it } from "vitest";
import { triggerPath } from "./trigger-job";

// The location's token is only ever sent to GHL's own trigger URLs.
describe("triggerPath", () => {
  const base = "https://services.leadconnectorhq.com";
  it("accepts GHL's trigger execution URLs, as a path on the API base", () => {
    expect(triggerPath(`${base}/workflows-marketplace/triggers/execute/abc/def`, base)).toBe(
      "/workflows-marketplace/triggers/execute/abc/def",
    );
    expect(
      triggerPath("http://127.0.0.1:4010/workflows-marketplace/triggers/execute/a/b", "http://127.0.0.1:4010/"),
    ).toBe("/workflows-marketplace/triggers/execute/a/b");
  });
  it("refuses another host, scheme or port, another path, a query or a fragment, and junk", () => {
    for (const u of [
      "https://evil.example/workflows-marketplace/triggers/execute/a/b",
      "http://services.leadconnectorhq.com/workflows-marketplace/triggers/execute/a/b",
      "https://services.leadconnectorhq.com:8443/workflows-marketplace/triggers/execute/a/b",
      "https://services.leadconnectorhq.com.evil.example/workflows-marketplace/triggers/execute/a/b",
      `${base}/contacts/search`,
      `${base}/workflows-marketplace/triggers/execute/a/b?x=1`,
      `${base}/workflows-marketplace/triggers/execute/a/b#x`,
      "not a url",
    ])
      expect(triggerPath(u, base), u).toBeNull();
  });
  it("keeps a base URL's own path prefix", () => {
    expect(
      triggerPath("https://gw.example/ghl/workflows-marketplace/triggers/execute/a/b", "https://gw.example/ghl"),
    ).toBe("/workflows-marketplace/triggers/execute/a/b");
    expect(
      triggerPath("https://gw.example/workflows-marketplace/triggers/execute/a/b", "https://gw.example/ghl"),
    ).toBeNull();
  });
});
