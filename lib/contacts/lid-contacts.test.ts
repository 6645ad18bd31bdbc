import { describe, expect, it } from "vitest";
import { type ContactRow, mergePlan, normalizeLid } from "./lid-contacts";

const row = (o: Partial<ContactRow>): ContactRow => ({
  id: "x",
  phone: null,
  waJid: null,
  waLid: null,
  ghlContactId: null,
  ghlConversationId: null,
  ghlPhone: null,
  name: null,
  stickyInstanceId: null,
  ...o,
});

describe("normalizeLid", () => {
  it("keeps the LID user, drops the device, refuses what is not a LID", () => {
    expect(normalizeLid("123456789:12@lid")).toBe("123456789@lid");
    expect(normalizeLid("123456789@lid")).toBe("123456789@lid");
    expect(normalizeLid("15551234567@s.whatsapp.net")).toBeNull();
    expect(normalizeLid(null)).toBeNull();
  });
});

describe("mergePlan: one person known by phone and by LID", () => {
  const byPhone = row({ id: "p", phone: "+15550001111", waJid: "15550001111@s.whatsapp.net", stickyInstanceId: "i1" });
  const byLid = row({
    id: "l",
    waJid: "99@lid",
    waLid: "99@lid",
    name: "Lia",
    ghlContactId: "g-l",
    ghlConversationId: "cv-l",
    stickyInstanceId: "i2",
  });

  it("keeps the phone-keyed contact, which takes the LID's GHL contact when it has none (its phone to be pushed)", () => {
    const m = mergePlan(byPhone, byLid, "99@lid");
    expect(m).toMatchObject({ keep: "p", drop: "l", leftInGhl: null });
    expect(m.data).toEqual({
      phone: "+15550001111",
      waJid: "15550001111@s.whatsapp.net",
      waLid: "99@lid",
      ghlContactId: "g-l",
      ghlConversationId: "cv-l",
      ghlPhone: null,
      name: "Lia",
      stickyInstanceId: "i2",
    });
  });

  it("keeps the phone-keyed contact's own GHL contact when both have one, and says which is left in GHL", () => {
    const m = mergePlan(
      { ...byPhone, ghlContactId: "g-p", ghlConversationId: "cv-p", ghlPhone: "+15550001111", name: "Lia P." },
      byLid,
      "99@lid",
    );
    expect(m.data).toMatchObject({
      ghlContactId: "g-p",
      ghlConversationId: "cv-p",
      ghlPhone: "+15550001111",
      name: "Lia P.",
    });
    expect(m.leftInGhl).toBe("g-l");
  });

  it("is the same whoever asks: the phone-keyed row survives", () => {
    expect(mergePlan(byPhone, byLid, "99@lid").keep).toBe("p");
    expect(mergePlan({ ...byPhone, id: "a" }, { ...byLid, id: "z" }, "99@lid").keep).toBe("a");
    expect(mergePlan({ ...byPhone, id: "z" }, { ...byLid, id: "a" }, "99@lid").keep).toBe("z");
  });
});
