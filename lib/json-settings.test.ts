import { describe, expect, it } from "vitest";
import { instanceSettingsSchema, parseInstanceSettings } from "./instances/instance-settings";
import { checkedPatch } from "./json-settings";
import { locationSettingsSchema, panelSettings, parseLocationSettings, settingsPatchSchema } from "./tenants/settings";

const DEFAULTS = {
  defaultInstanceId: null,
  defaultCountry: null,
  providerMode: "sms",
  maxWaitMinutes: 60,
  typingSimulation: false,
  warmupPercent: 100,
  routeAroundTrouble: false,
  tagRoutes: [],
  webhookUrl: null,
};

describe("settings schemas: reading", () => {
  it("gives every default for an empty, missing or non-object column", () => {
    for (const raw of [{}, null, undefined, "x", 3, [1, 2]]) expect(parseLocationSettings(raw)).toEqual(DEFAULTS);
    expect(parseInstanceSettings(null)).toEqual({ groups: false, historyImportDays: 30 });
  });

  it("keeps good keys, reads a bad key as its default, drops unknown keys (an old secret included)", () => {
    const raw = {
      defaultCountry: "BR",
      maxWaitMinutes: 0,
      typingSimulation: "yes",
      providerMode: "custom",
      webhookSecretEnc: "v1.k.x.y.z",
      other: 1,
    };
    expect(parseLocationSettings(raw)).toEqual({ ...DEFAULTS, defaultCountry: "BR", providerMode: "custom" });
    expect(parseLocationSettings({ maxWaitMinutes: 1.5 }).maxWaitMinutes).toBe(60);
    expect(parseLocationSettings({ maxWaitMinutes: 1 }).maxWaitMinutes).toBe(1);
    expect(parseInstanceSettings({ groups: true, x: 1 })).toEqual({ groups: true, historyImportDays: 30 });
    expect(parseInstanceSettings({ groups: "true", historyImportDays: 0 })).toEqual({
      groups: false,
      historyImportDays: 0,
    });
    expect(parseInstanceSettings({ historyImportDays: -1 }).historyImportDays).toBe(30);
  });

  it("the panel's view has no webhook", () => {
    expect(panelSettings(parseLocationSettings({ webhookUrl: "https://h.example/?token=t" }))).not.toHaveProperty(
      "webhookUrl",
    );
  });
});

describe("settings schemas: writing", () => {
  it("a patch holds only what was given (no defaults filled in, which would overwrite other keys)", () => {
    expect(checkedPatch(locationSettingsSchema, { maxWaitMinutes: 5 })).toEqual({ maxWaitMinutes: 5 });
    expect(checkedPatch(locationSettingsSchema, { webhookUrl: null, defaultCountry: undefined })).toEqual({
      webhookUrl: null,
    });
    expect(checkedPatch(instanceSettingsSchema, { groups: true })).toEqual({ groups: true });
  });

  it("refuses what reading would only tolerate: a bad value or an unknown key", () => {
    expect(() => checkedPatch(locationSettingsSchema, { maxWaitMinutes: 0 })).toThrow();
    expect(() => checkedPatch(locationSettingsSchema, { providerMode: "fax" as never })).toThrow();
    expect(() => checkedPatch(locationSettingsSchema, { webhookSecretEnc: "x" } as never)).toThrow(
      /unknown setting webhookSecretEnc/,
    );
  });

  it("the panel's patch is partial and validated with the column's own rules", () => {
    expect(settingsPatchSchema.parse({})).toEqual({});
    expect(settingsPatchSchema.parse({ defaultCountry: "br" })).toEqual({ defaultCountry: "BR" });
    expect(settingsPatchSchema.safeParse({ maxWaitMinutes: 7 * 24 * 60 + 1 }).success).toBe(false);
    expect(settingsPatchSchema.safeParse({ defaultCountry: "XX" }).success).toBe(false);
  });
});
