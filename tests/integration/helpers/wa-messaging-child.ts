import { Redis } from "ioredis";
import pino from "pino";
import { createDb } from "@/lib/db";
import { createMessaging } from "@/worker/messaging/messaging-hooks";
import { makeManager, type ManagerConfig } from "./wa-fixture";

// A whole worker (sessions + send loops) in its own process, so a test can kill -9 it mid-burst.
const c = JSON.parse(process.argv[2]) as ManagerConfig & { textDelayMs: number };
const db = createDb(c.databaseUrl, 4);
const redis = new Redis(c.redisUrl);
const wake = new Redis(c.redisUrl);
const messaging = createMessaging({
  db, redis, subscriber: wake, notifyGhl: async () => {}, log: pino({ level: "silent" }), pollMs: 200,
  cfg: { TEXT_DELAY_MS: c.textDelayMs, MEDIA_DELAY_MS_MIN: 0, MEDIA_DELAY_MS_MAX: 0, ALLOW_PRIVATE_MEDIA_URLS: true },
});
const { m } = makeManager(db, c, { hooks: messaging.hooks });
void messaging.start().then(() => m.start()).then(() => process.stdout.write("ready\n"));
