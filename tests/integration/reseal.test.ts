import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { BufferJSON, initAuthCreds } from "@whiskeysockets/baileys";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GET as mediaRoute } from "@/app/api/media/[mediaId]/[expires]/[signature]/[fileName]/route";
import { derivedKey, keyringFrom, open, seal } from "@/lib/crypto";
import { resealAll } from "@/lib/crypto-reseal";
import { db } from "@/lib/db";
import { signMediaPath } from "@/lib/media/signed-url";
import { loadPair, sealPair } from "@/lib/tenants/token-store";
import { credsAad, keyAad, loadAuthState } from "@/worker/whatsapp/auth-state";
import { params, req, useAppEnv } from "./helpers/app-env";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";

// A key rotation: k1 sealed everything, then ENCRYPTION_KEY=k2 with k1 in ENCRYPTION_KEYS_PREVIOUS.
// `npm run reseal` must leave nothing sealed with k1 (so k1 can go), idempotently and resumably,
// and what GHL holds (signed media URLs) must keep working meanwhile.
const k1 = `k1:${randomBytes(32).toString("base64")}`;
const k2 = `k2:${randomBytes(32).toString("base64")}`;
const old = keyringFrom(k1);
const onlyNew = keyringFrom(k2);
const lost = keyringFrom(`k0:${randomBytes(32).toString("base64")}`); // a key nobody has any more
const log = pino({ level: "silent" });
let databaseUrl: string;
let restore: () => Promise<void>;

beforeAll(async () => {
  databaseUrl = await cloneTemplateDb(dbNameFor(import.meta.filename));
  restore = useAppEnv({ databaseUrl, extra: { ENCRYPTION_KEY: k2, ENCRYPTION_KEYS_PREVIOUS: k1 } });
  const d = db();
  // rows as the writers sealed them before the rotation (their own associated data)
  await d.company.create({
    data: {
      id: "co1",
      tokenExpiresAt: new Date(Date.now() + 3600_000),
      accessTokenEnc: seal("co-access", "company:co1:access", old),
      refreshTokenEnc: seal("co-refresh", "company:co1:refresh", old),
    },
  });
  for (const id of ["L1", "L2", "L3"]) {
    await d.location.create({
      data: {
        id,
        companyId: "co1",
        tokenExpiresAt: new Date(Date.now() + 3600_000),
        accessTokenEnc: seal(`${id}-access`, `location:${id}:access`, old),
        refreshTokenEnc: id === "L3" ? null : seal(`${id}-refresh`, `location:${id}:refresh`, old),
        settings: { defaultInstanceId: "i1", webhookUrl: "https://hooks.example/x" },
        webhookSecretEnc: seal(`whsec_${id}`, `webhook:${id}`, old),
      },
    });
  }
  // already current: written after the rotation by the real writer
  await d.location.create({
    data: {
      id: "L4",
      companyId: "co1",
      ...sealPair("location", "L4", {
        accessToken: "L4-access",
        refreshToken: "L4-refresh",
        expiresAt: new Date(Date.now() + 3600_000),
      }),
    },
  });
  // sealed with a key that is not configured: reported, left untouched
  await d.location.create({ data: { id: "L5", accessTokenEnc: seal("L5-access", "location:L5:access", lost) } });
  await d.instance.createMany({
    data: [
      { id: "i1", locationId: "L1", name: "wa-01" },
      { id: "i2", locationId: "L2", name: "wa-01" },
    ],
  });
  for (const i of ["i1", "i2"]) {
    await d.waCreds.create({
      data: {
        instanceId: i,
        dataEnc: seal(
          JSON.stringify({ ...initAuthCreds(), me: { id: `${i}@s.whatsapp.net` } }, BufferJSON.replacer),
          credsAad(i),
          old,
        ),
      },
    });
    for (let n = 1; n <= 5; n++) {
      const value = { private: Buffer.alloc(32, n), public: Buffer.alloc(32, n + 1) };
      await d.waKey.create({
        data: {
          instanceId: i,
          type: "pre-key",
          keyId: String(n),
          valueEnc: seal(JSON.stringify(value, BufferJSON.replacer), keyAad(i, "pre-key", String(n)), old),
        },
      });
    }
  }
});
afterAll(async () => restore());

async function sealedWith(): Promise<Record<string, number>> {
  const d = db();
  const values = [
    ...(await d.company.findMany()).flatMap((r) => [r.accessTokenEnc, r.refreshTokenEnc]),
    ...(await d.location.findMany()).flatMap((r) => [r.accessTokenEnc, r.refreshTokenEnc, r.webhookSecretEnc]),
    ...(await d.waCreds.findMany()).map((r) => r.dataEnc),
    ...(await d.waKey.findMany()).map((r) => r.valueEnc),
  ].filter((v): v is string => !!v);
  const out: Record<string, number> = {};
  for (const v of values) out[v.split(".")[1]] = (out[v.split(".")[1]] ?? 0) + 1;
  return out;
}

describe("key rotation", () => {
  it("a media URL signed with the previous key is still served after the rotation", async () => {
    const m = await db().mediaBlob.create({
      data: {
        locationId: "L1",
        mimetype: "image/png",
        fileName: "a.png",
        size: 3,
        data: Buffer.from("PNG"),
        expiresAt: new Date(Date.now() + 86_400_000),
      },
    });
    const path = signMediaPath(m.id, "a.png", 3600, Date.now(), derivedKey("media-url", old));
    const [, , , mediaId, expires, signature, fileName] = path.split("/");
    const r = await mediaRoute(req(path), params({ mediaId, expires, signature, fileName }));
    expect(r.status).toBe(200);
    expect(Buffer.from(await r.arrayBuffer()).toString()).toBe("PNG");
    // a signature no configured key made is still refused
    const forged = signMediaPath(m.id, "a.png", 3600, Date.now(), derivedKey("media-url", lost)).split("/");
    expect((await mediaRoute(req(path), params({ mediaId, expires, signature: forged[5], fileName }))).status).toBe(
      403,
    );
  });

  it("reseal: interrupted, resumed by `npm run reseal`, then a no-op; readers with the new key alone see the same secrets", async () => {
    expect(await sealedWith()).toEqual({ k1: 2 + 5 + 3 + 2 + 10, k2: 2, k0: 1 });

    // a run killed after the tokens (small batches: several pages per table)
    await expect(
      resealAll(db(), {
        batch: 2,
        onProgress: (t) => {
          if (t === "Location") throw new Error("killed");
        },
      }),
    ).rejects.toThrow("killed");
    expect(await sealedWith()).toEqual({ k1: 3 + 2 + 10, k2: 2 + 7, k0: 1 });

    // the command itself picks up the rest; exit 1 and a named row for the value no key opens
    const run = spawnSync(process.execPath, ["scripts/reseal.mjs"], {
      env: { ...process.env, DATABASE_URL: databaseUrl, ENCRYPTION_KEY: k2, ENCRYPTION_KEYS_PREVIOUS: k1 },
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(run.stderr, run.stdout).toContain("cannot open: Location L5 accessTokenEnc: sealed with unknown key id k0");
    expect(run.stdout).toMatch(/Company: 0 re-sealed/);
    expect(run.stdout).toMatch(/Location: 0 re-sealed, 0 rewritten meanwhile, 1 cannot be opened/);
    expect(run.stdout).toMatch(/webhookSecretEnc: 3 re-sealed/);
    expect(run.stdout).toMatch(/WaCreds: 2 re-sealed/);
    expect(run.stdout).toMatch(/WaKey: 10 re-sealed/);
    expect(run.status).toBe(1);
    expect(await sealedWith()).toEqual({ k2: 2 + 7 + 3 + 2 + 10, k0: 1 });

    // idempotent: nothing more to do
    const again = await resealAll(db(), { batch: 3 });
    expect(Object.values(again.tables).map((c) => c.resealed)).toEqual([0, 0, 0, 0, 0]);
    expect(again.failures).toEqual(["Location L5 accessTokenEnc: sealed with unknown key id k0"]);

    // the real readers open everything with k2 alone: nothing still needs k1
    expect(await loadPair(db(), "company", "co1")).toMatchObject({
      accessToken: "co-access",
      refreshToken: "co-refresh",
    });
    expect(await loadPair(db(), "location", "L1")).toMatchObject({
      accessToken: "L1-access",
      refreshToken: "L1-refresh",
    });
    expect(await loadPair(db(), "location", "L3")).toMatchObject({ accessToken: "L3-access", refreshToken: null });
    const l2 = await db().location.findUniqueOrThrow({ where: { id: "L2" } });
    expect(open(l2.webhookSecretEnc!, "webhook:L2", onlyNew)).toBe("whsec_L2");
    expect(l2.settings).toEqual({ defaultInstanceId: "i1", webhookUrl: "https://hooks.example/x" }); // the settings untouched
    const state = await loadAuthState({ db: db(), instanceId: "i2", log, keys: onlyNew });
    expect(state.state.creds.me?.id).toBe("i2@s.whatsapp.net");
    const preKeys = await state.state.keys.get("pre-key", ["1", "5"]);
    expect(Buffer.from(preKeys["5"].private).equals(Buffer.alloc(32, 5))).toBe(true);
    // the unreadable value is as it was
    expect((await db().location.findUniqueOrThrow({ where: { id: "L5" } })).accessTokenEnc!.split(".")[1]).toBe("k0");
  });
});
