import { describe, expect, it } from "vitest";
import { parseControl } from "./control";

describe("gw:control messages", () => {
  it("accepts each command shape", () => {
    for (const type of ["instance.start", "instance.stop", "instance.restart", "instance.logout"]) {
      expect(parseControl(JSON.stringify({ type, instanceId: "i", locationId: "l" }))).toEqual({
        type,
        instanceId: "i",
        locationId: "l",
      });
    }
    expect(
      parseControl(
        JSON.stringify({ type: "instance.pairing-code", instanceId: "i", locationId: "l", phone: "+15551234567" }),
      )?.type,
    ).toBe("instance.pairing-code");
    expect(parseControl(JSON.stringify({ type: "location.uninstalled", locationId: "l" }))).toEqual({
      type: "location.uninstalled",
      locationId: "l",
    });
  });

  it("rejects anything else instead of acting on it", () => {
    for (const raw of [
      "not json",
      "{}",
      JSON.stringify({ type: "instance.start", instanceId: "i" }),
      JSON.stringify({ type: "instance.pairing-code", instanceId: "i", locationId: "l" }),
      JSON.stringify({ type: "instance.nuke", instanceId: "i", locationId: "l" }),
    ]) {
      expect(parseControl(raw)).toBeUndefined();
    }
  });
});
