import { describe, expect, it } from "vitest";
import { assessHealth, type HealthInputs, restrictedHold } from "./health-rules";

const now = new Date("2026-12-04T12:00:00Z");
const hoursAgo = (h: number) => new Date(now.getTime() - h * 3_600_000);
const base: HealthInputs = {
  numberName: "wa-01",
  status: "ONLINE",
  acks463: [],
  otherAcks24h: 0,
  reconnects24h: 0,
  lastLogoutAt: null,
  newChats7d: 0,
  answered7d: 0,
  newChatsToday: 0,
  newChatAllowance: 20,
};
const of = (o: Partial<HealthInputs>, at = now) => assessHealth({ ...base, ...o }, at);

describe("a number's health", () => {
  it("is healthy with nothing against it", () => {
    expect(of({})).toEqual({ state: "healthy", reasons: [], restrictedUntil: null, cause: null });
    expect(of({ newChats7d: 50, answered7d: 10, newChatsToday: 17, reconnects24h: 4, otherAcks24h: 2 }).state).toBe(
      "healthy",
    );
  });

  it("is at risk after one or two 463s in the last 24 h", () => {
    const h = of({ acks463: [hoursAgo(3), hoursAgo(1)] });
    expect(h.state).toBe("at_risk");
    expect(h.reasons).toEqual(["WhatsApp refused 2 chats from wa-01 with error 463 in the last 24 h"]);
    expect(of({ acks463: [hoursAgo(25)] }).state).toBe("healthy");
  });

  it("is restricted by three 463s within 24 h, until 24 h after the last one", () => {
    const acks = [hoursAgo(5), hoursAgo(2), hoursAgo(1)];
    const h = of({ acks463: acks });
    expect(h.state).toBe("restricted");
    expect(h.restrictedUntil).toEqual(new Date("2026-12-05T11:00:00Z"));
    expect(h.cause).toBe("WhatsApp refused 3 of its new chats with error 463 within 24 h");
    expect(h.reasons[0]).toMatch(/new chats pause until 11:00 UTC/);
    // three spread over more than 24 h are not a burst
    expect(of({ acks463: [hoursAgo(30), hoursAgo(20), hoursAgo(1)] }).state).toBe("at_risk");
  });

  it("recovers after a clean window: at risk for another day, then healthy", () => {
    const acks = [hoursAgo(5), hoursAgo(2), hoursAgo(1)];
    const later = (h: number) => new Date(now.getTime() + h * 3_600_000);
    expect(of({ acks463: acks }, later(22)).state).toBe("restricted");
    const recovering = of({ acks463: acks }, later(24));
    expect(recovering.state).toBe("at_risk");
    expect(recovering.reasons).toEqual(["wa-01 is recovering from a restriction that ended at 11:00 UTC"]);
    expect(of({ acks463: acks }, later(48)).state).toBe("healthy");
  });

  it("counts only acks up to now (a clock behind the rows)", () => {
    expect(of({ acks463: [hoursAgo(-1), hoursAgo(-2), hoursAgo(-3)] }).state).toBe("healthy");
  });

  it("is restricted when banned, and at risk after a recent logout", () => {
    expect(of({ status: "BANNED" })).toMatchObject({
      state: "restricted",
      cause: "WhatsApp banned it",
      restrictedUntil: null,
    });
    expect(of({ lastLogoutAt: hoursAgo(48) }).reasons).toEqual(["wa-01 was logged out or banned on 2026-12-02"]);
    expect(of({ lastLogoutAt: hoursAgo(8 * 24) }).state).toBe("healthy");
  });

  it("is at risk from other error acks, reconnects, unanswered new chats or an allowance nearly used", () => {
    expect(of({ otherAcks24h: 3 }).reasons).toEqual(["3 messages of wa-01 were refused by WhatsApp in the last 24 h"]);
    expect(of({ reconnects24h: 5 }).reasons).toEqual(["wa-01 reconnected 5 times in the last 24 h"]);
    expect(of({ newChats7d: 40, answered7d: 3 }).reasons).toEqual([
      "only 3 of 40 new chats of the last 7 days were answered",
    ]);
    expect(of({ newChats7d: 19, answered7d: 0 }).state).toBe("healthy"); // too few to judge
    expect(of({ newChatsToday: 18 }).reasons).toEqual(["wa-01 used 18 of today's 20 new chats"]);
    const all = of({ otherAcks24h: 3, reconnects24h: 6, newChatsToday: 20 });
    expect(all.state).toBe("at_risk");
    expect(all.reasons).toHaveLength(3);
  });

  it("holds a restricted number's new chats until it recovers, with a reason a person reads", () => {
    const h = of({ acks463: [hoursAgo(3), hoursAgo(2), hoursAgo(1)] });
    expect(restrictedHold(h, "wa-01", now)).toEqual({
      until: new Date("2026-12-05T11:00:00Z"),
      reason:
        "wa-01 is restricted (WhatsApp refused 3 of its new chats with error 463 within 24 h); new chats send at 11:00 UTC or from another number",
    });
    expect(restrictedHold(of({ acks463: [hoursAgo(1)] }), "wa-01", now)).toBeUndefined();
    expect(restrictedHold(of({ status: "BANNED" }), "wa-01", now)?.until).toEqual(new Date("2026-12-05T12:00:00Z"));
  });
});
