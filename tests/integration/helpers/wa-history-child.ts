import { Redis } from "ioredis";
import pino from "pino";
import { createDb } from "@/lib/db";
import { waitForGhlSlot } from "@/lib/ghl/rate-window";
import { startHistoryImport } from "@/worker/jobs/history-import";
import { createMessaging } from "@/worker/messaging/messaging-hooks";
import { ghlCaller } from "./ghl-serial-queue";
import { type ManagerConfig, makeManager } from "./wa-fixture";

// A whole worker with the history import, in its own process, so a test can kill -9 it halfway
// through an import. GHL is the GHL simulator at `ghlUrl`, called with `ghlToken`, paced as the
// real client is (the location's shared window).
const c = JSON.parse(process.argv[2]) as ManagerConfig & { ghlUrl: string; ghlToken: string; locationId: string };
const db = createDb(c.databaseUrl, 4);
const redis = new Redis(c.redisUrl);
const wake = new Redis(c.redisUrl);
const ghl = ghlCaller(c.ghlUrl, c.ghlToken, () => waitForGhlSlot(redis, `location:${c.locationId}`));
const log = pino({ level: "silent" });
const messaging = createMessaging({
  db,
  redis,
  subscriber: wake,
  log,
  pollMs: 200,
  notifyGhl: async () => {},
  cfg: { TEXT_DELAY_MS: 0, MEDIA_DELAY_MS_MIN: 0, MEDIA_DELAY_MS_MAX: 0, MEDIA_URL_ALLOWED_ORIGINS: [] as string[] },
});
const { m } = makeManager(db, c, { hooks: messaging.hooks });
void messaging
  .start()
  .then(() => m.start())
  .then(() => {
    startHistoryImport({
      db,
      redis,
      ghlFor: () => ghl,
      cfg: { appUrl: "http://127.0.0.1:3999", conversationProviderId: "prov-1" },
      log,
      workerId: c.workerId,
      everyMs: 300,
      postsPer10s: 80,
    });
    process.stdout.write("ready\n");
  });
