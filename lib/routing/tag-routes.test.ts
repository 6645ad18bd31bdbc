import { describe, expect, it } from "vitest";
import { healthEventOfStatus } from "../health/number-events";
import { mayRoute } from "./route-around";
import { numberForTags, tagRoutesBodySchema } from "./tag-routes";

describe("routing by tag", () => {
  const routes = [
    { tag: "VIP", instanceId: "i2" },
    { tag: "es", instanceId: "i3" },
    { tag: "lead", instanceId: "i4" },
  ];

  it("picks the first row of the table whose tag the contact has, case and spaces ignored", () => {
    expect(numberForTags(routes, ["lead", " vip "])).toBe("i2");
    expect(numberForTags(routes, ["ES"])).toBe("i3");
    expect(numberForTags(routes, ["other"])).toBeUndefined();
    expect(numberForTags(routes, [])).toBeUndefined();
    expect(numberForTags([], ["vip"])).toBeUndefined();
  });

  it("validates the table the route stores: trimmed tags, bounded size, no other keys", () => {
    expect(tagRoutesBodySchema.parse({ routes: [{ tag: " vip ", instanceId: "i2" }] })).toEqual({
      routes: [{ tag: "vip", instanceId: "i2" }],
    });
    expect(tagRoutesBodySchema.safeParse({ routes: [{ tag: "  ", instanceId: "i2" }] }).success).toBe(false);
    expect(
      tagRoutesBodySchema.safeParse({ routes: Array.from({ length: 51 }, () => ({ tag: "a", instanceId: "i" })) })
        .success,
    ).toBe(false);
    expect(tagRoutesBodySchema.safeParse({ routes: [], extra: 1 }).success).toBe(false);
  });
});

describe("routing around trouble", () => {
  const on = { location: { settings: { routeAroundTrouble: true } } };
  it("moves a message only when the location allows it and its sender did not name the number", () => {
    expect(mayRoute({ ...on, routedBy: null })).toBe(true);
    expect(mayRoute({ ...on, routedBy: "tag" })).toBe(true);
    expect(mayRoute({ ...on, routedBy: "named" })).toBe(false);
    expect(mayRoute({ routedBy: null, location: { settings: { routeAroundTrouble: false } } })).toBe(false);
    // a group's conversation stays on the number that is its member
    expect(mayRoute({ ...on, routedBy: null, contact: { waJid: "120363012345678901@g.us" } })).toBe(false);
    expect(mayRoute({ ...on, routedBy: null, contact: { waJid: "15550001111@s.whatsapp.net" } })).toBe(true);
  });
});

describe("what a status change is for a number's health", () => {
  it("counts reconnects, logouts from WhatsApp or the phone, and bans; not a person's own logout", () => {
    expect(healthEventOfStatus("RECONNECTING", null)).toBe("reconnect");
    expect(healthEventOfStatus("FAILED", "x")).toBe("reconnect");
    expect(healthEventOfStatus("LOGGED_OUT", "the phone unlinked this number; scan a new QR")).toBe("logout");
    expect(healthEventOfStatus("LOGGED_OUT", null)).toBeUndefined();
    expect(healthEventOfStatus("BANNED", "WhatsApp refused this number")).toBe("banned");
    expect(healthEventOfStatus("ONLINE", null)).toBeUndefined();
    expect(healthEventOfStatus("CONNECTING", null)).toBeUndefined();
  });
});
