import type { WAMessage } from "@whiskeysockets/baileys";
import { Redis } from "ioredis";
import pino from "pino";
import { createDb } from "@/lib/db";
import { createMessaging } from "@/worker/messaging/messaging-hooks";
import { type ManagerConfig, makeManager } from "./wa-fixture";

// A whole worker (sessions + send loops) in its own process, so a test can kill -9 it mid-burst.
// `crashOnText`: the process kills itself (SIGKILL) once a message with that text has been
// decrypted and before anything of its batch is stored — the worst moment for a crash.
// `recordJobs`: each GHL job is written to stdout as a line `job <json>`.
const c = JSON.parse(process.argv[2]) as ManagerConfig & {
  textDelayMs: number;
  crashOnText?: string;
  recordJobs?: boolean;
};
const db = createDb(c.databaseUrl, 4);
const redis = new Redis(c.redisUrl);
const wake = new Redis(c.redisUrl);
const textOf = (m: WAMessage) => m.message?.conversation ?? m.message?.extendedTextMessage?.text;
const messaging = createMessaging({
  db,
  redis,
  subscriber: wake,
  log: pino({ level: "silent" }),
  pollMs: 200,
  notifyGhl: async (j) => void (c.recordJobs && process.stdout.write(`job ${JSON.stringify(j)}\n`)),
  cfg: {
    TEXT_DELAY_MS: c.textDelayMs,
    MEDIA_DELAY_MS_MIN: 0,
    MEDIA_DELAY_MS_MAX: 0,
    MEDIA_URL_ALLOWED_ORIGINS: [] as string[],
  },
  beforeStore: c.crashOnText
    ? (m) => void (textOf(m) === c.crashOnText && process.kill(process.pid, "SIGKILL"))
    : undefined,
});
const { m } = makeManager(db, c, { hooks: messaging.hooks });
void messaging
  .start()
  .then(() => m.start())
  .then(() => process.stdout.write("ready\n"));
