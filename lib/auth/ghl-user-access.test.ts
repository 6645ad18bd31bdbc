import { describe, expect, it } from "vitest";
import { canOpen, type GrantedAccess, ghlUserSchema, isAdminAt } from "./ghl-user-access";

const g = (o: Partial<GrantedAccess>): GrantedAccess => ({
  status: "ok",
  type: "account",
  role: "user",
  locationIds: [],
  restrictSubAccount: false,
  ...o,
});

describe("what GHL's roles let a panel user do", () => {
  it("agency admins open every location of the company; everyone else only roles.locationIds", () => {
    expect(canOpen(g({ type: "agency", role: "admin" }), "B")).toBe(true);
    expect(canOpen(g({ type: "agency", role: "admin", restrictSubAccount: true, locationIds: ["A"] }), "B")).toBe(
      false,
    );
    expect(canOpen(g({ type: "agency", role: "user", locationIds: ["A"] }), "A")).toBe(true);
    expect(canOpen(g({ type: "agency", role: "user", locationIds: ["A"] }), "B")).toBe(false);
    expect(canOpen(g({ type: "account", role: "admin", locationIds: ["A"] }), "B")).toBe(false);
  });
  it("admin means role admin where the user can open the location", () => {
    expect(isAdminAt(g({ role: "admin", locationIds: ["A"] }), "A")).toBe(true);
    expect(isAdminAt(g({ role: "admin", locationIds: ["A"] }), "B")).toBe(false);
    expect(isAdminAt(g({ role: "user", locationIds: ["A"] }), "A")).toBe(false);
    expect(isAdminAt(g({ type: "agency", role: "user", locationIds: ["A"] }), "A")).toBe(false);
  });
  it("reads UserSuccessfulResponseDto's roles and refuses answers without them", () => {
    const ok = ghlUserSchema.safeParse({
      id: "u",
      name: "N",
      roles: { type: "account", role: "admin", locationIds: ["A"], restrictSubAccount: false },
      permissions: {},
    });
    expect(ok.success && ok.data.roles).toEqual({
      type: "account",
      role: "admin",
      locationIds: ["A"],
      restrictSubAccount: false,
    });
    expect(ghlUserSchema.safeParse({ id: "u" }).success).toBe(false);
    expect(ghlUserSchema.safeParse({ id: "u", roles: { type: "owner", role: "admin" } }).success).toBe(false);
  });
});
