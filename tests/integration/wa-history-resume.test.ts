import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDb, type Db } from "@/lib/db";
import { importProgress } from "@/lib/history/history-import";
import type { GhlSimulator } from "@/sandbox/ghl/server";
import { startGhlSimulator } from "@/sandbox/ghl/server";
import { install } from "@/sandbox/ghl/test-kit";
import { startWaSimulator } from "@/sandbox/whatsapp/server";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";
import { managerConfig, simCall, until, watchEvents } from "./helpers/wa-fixture";
import { pastChats } from "./helpers/wa-history-kit";

// A worker killed (SIGKILL) halfway through a history import: the next worker picks the import up
// where the last post landed (the rows' status is the progress) and finishes it; GHL ends up with
// every message once.
const LOC = "SunriseDental0000001";
const ME = "15553330001";
const CONTACTS = Array.from({ length: 20 }, (_, i) => `1555333${String(100 + i).padStart(4, "0")}`);
let db: Db;
let dbUrl: string;
let sim: Awaited<ReturnType<typeof startWaSimulator>>;
let ghlSim: GhlSimulator;
let ghlToken: string;
let redis: Redis;
const children: ChildProcess[] = [];

beforeAll(async () => {
  dbUrl = await cloneTemplateDb(dbNameFor(import.meta.filename));
  db = createDb(dbUrl, 4);
  sim = await startWaSimulator({ port: 0, host: "127.0.0.1" });
  ghlSim = await startGhlSimulator({ port: 0, seed: true, conversationProviderId: "prov-1" });
  ghlToken = (await install(ghlSim, { locationId: LOC })).tokens.body.access_token as string;
  redis = new Redis(`${process.env.TEST_REDIS_URL}/1`);
  await redis.flushdb();
  await db.location.create({ data: { id: LOC, name: "Resume" } });
  await db.instance.create({ data: { id: "ir", locationId: LOC, name: "wa-01" } });
  await simCall(sim, "POST", "/__sandbox/phones", { phone: ME });
  for (const c of CONTACTS) await simCall(sim, "POST", "/__sandbox/phones", { phone: c });
  await simCall(sim, "POST", `/__sandbox/phones/${ME}/history`, { chats: pastChats(CONTACTS, 25, 20) });
}, 60_000);
afterAll(async () => {
  for (const c of children) c.kill("SIGKILL");
  await redis?.quit();
  await sim?.close();
  await ghlSim?.close();
  await db?.$disconnect();
});

const worker = (id: string) => {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      path.join(import.meta.dirname, "helpers/wa-history-child.ts"),
      JSON.stringify({ ...managerConfig(sim as never, dbUrl, id), ghlUrl: ghlSim.url, ghlToken, locationId: LOC }),
    ],
    {
      env: { ...process.env, LOG_LEVEL: "silent" },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  children.push(child);
  return child;
};
const posts = async () =>
  (await (await fetch(`${ghlSim.url}/__sandbox/locations/${LOC}/inbound`)).json()).messages as { altId: string }[];

describe("a worker killed halfway through a history import", { retry: 0 }, () => {
  it("resumes after the restart and finishes: nothing lost, at most the post in flight at the kill twice", {
    timeout: 240_000,
  }, async () => {
    const ev = await watchEvents(`${process.env.TEST_REDIS_URL}/1`, LOC);
    const doomed = worker("doomed");
    const qr = await until("a QR", async () => ev.events.find((e) => e.type === "instance.qr"), 60_000);
    await simCall(sim, "POST", `/__sandbox/phones/${ME}/scan`, { qr: (qr as { qr: string }).qr });
    await ev.close();
    await until("150 messages in GHL", async () => (await posts()).length >= 150, 120_000, 50);
    doomed.kill("SIGKILL");
    await new Promise((r) => doomed.once("exit", r));
    const atKill = (await posts()).length;
    expect(atKill).toBeLessThan(500);
    expect((await importProgress(db, LOC, ["ir"])).get("ir")?.state).toBe("IMPORTING");

    worker("survivor");
    await until(
      "the import is done",
      async () => (await importProgress(db, LOC, ["ir"])).get("ir")?.state === "DONE",
      150_000,
      500,
    );
    const all = await posts();
    expect(new Set(all.map((p) => p.altId)).size).toBe(500);
    // The import posts one message at a time and marks it posted after GHL answers. A kill between
    // the two posts that one again after the restart (seen once in three runs: 501 posts); GHL's
    // API gives no way to ask whether a message with this altId is there, so this is the known
    // gap of docs/decisions/020-history-sync-and-import.md: never more than that one.
    const twice = all.length - 500;
    expect(twice).toBeGreaterThanOrEqual(0);
    expect(twice).toBeLessThanOrEqual(1);
    expect((await importProgress(db, LOC, ["ir"])).get("ir")).toMatchObject({
      percent: 100,
      messages: { done: 500, total: 500 },
    });
    // the survivor logged in from Postgres: one pairing, so no second history sync
    const devices = await simCall<{ phone: string; pairings: number }[]>(sim, "GET", "/__sandbox/devices");
    expect(devices.filter((d) => d.phone === ME)).toHaveLength(1);
    process.stdout.write(`history resume: ${atKill} of 500 in GHL at kill -9, ${twice} posted twice\n`);
  });
});
