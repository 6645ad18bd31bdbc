import { readFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { listMigrationNames } from "@/lib/ops/readiness";
import { runMigrations } from "@/prisma/migrate";

// Applies the migrations to an empty database (not the template) and checks every table exists.
const server = process.env.TEST_PG_SERVER_URL!;
const dbName = "ghl_wa_it_empty_migrate";

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const u = new URL(server);
  u.pathname = "/postgres";
  const c = new pg.Client({ connectionString: u.toString() });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

describe("migrations", () => {
  it("are in step with schema.prisma (a schema change without `npm run migrate -- create` fails here)", () => {
    const dir = path.join(process.cwd(), "prisma");
    expect(readFileSync(path.join(dir, "migrations", "schema.snapshot.prisma"), "utf8")).toBe(
      readFileSync(path.join(dir, "schema.prisma"), "utf8"),
    );
  });

  const url = (() => {
    const u = new URL(server);
    u.pathname = `/${dbName}`;
    return u.toString();
  })();

  afterAll(async () => {
    await admin((c) => c.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`));
  });

  it("create every table of the data model on an empty database, once", async () => {
    await admin(async (c) => {
      await c.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
      await c.query(`CREATE DATABASE "${dbName}"`);
    });
    const applied = await runMigrations(url);
    expect(applied).toEqual(listMigrationNames());

    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      const { rows } = await c.query<{ tablename: string }>(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
      );
      expect(rows.map((r) => r.tablename)).toEqual(
        [
          "ApiKey",
          "AuditEvent",
          "Company",
          "Contact",
          "HistoryImport",
          "Instance",
          "Location",
          "MediaBlob",
          "Message",
          "NumberAlert",
          "NumberEvent",
          "WaCreds",
          "WaKey",
          "WebhookReceipt",
          "WorkflowSubscription",
          "_prisma_migrations",
        ].sort(),
      );
      const unique = await c.query<{ indexname: string }>(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'Message' AND indexdef LIKE 'CREATE UNIQUE%'",
      );
      expect(unique.rows.map((r) => r.indexname).sort()).toEqual([
        "Message_ghlMessageId_key",
        "Message_instanceId_waMessageId_key",
        "Message_pkey",
      ]);
    } finally {
      await c.end();
    }
    // a second run is a no-op
    expect(await runMigrations(url)).toEqual([]);
  });

  it("give the send loops a queue index that a number's sent history does not grow", async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      await c.query(`INSERT INTO "Location"(id, name, "updatedAt") VALUES ('L', 'L', now())`);
      await c.query(`INSERT INTO "Instance"(id, "locationId", name, "updatedAt") VALUES ('I', 'L', 'wa-01', now())`);
      await c.query(`INSERT INTO "Message"(id, "locationId", "instanceId", direction, source, type, status, "updatedAt")
        SELECT 'm' || g, 'L', 'I', 'OUTBOUND', 'GHL', 'text', CASE WHEN g <= 5000 THEN 'SENT' ELSE 'QUEUED' END::"MessageStatus", now()
        FROM generate_series(1, 5003) g`);
      await c.query(`ANALYZE "Message"`);
      // the shape of the send loop's claim (worker/messaging/outbound-sender.ts), in a generic plan
      await c.query(`SET plan_cache_mode = force_generic_plan`);
      await c.query(`PREPARE next_of(text) AS SELECT m.id FROM "Message" m WHERE m."instanceId" = $1 AND m.direction = 'OUTBOUND'
        AND m.status IN ('QUEUED', 'WAITING', 'SENDING') ORDER BY m."createdAt" ASC, m.seq ASC LIMIT 1`);
      const plan = JSON.stringify((await c.query(`EXPLAIN (FORMAT JSON) EXECUTE next_of('I')`)).rows);
      expect(plan).toContain("Message_outbound_queue_idx");
      const size = await c.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "Message" WHERE direction = 'OUTBOUND' AND status IN ('QUEUED', 'WAITING', 'SENDING')`,
      );
      expect(size.rows[0].n).toBe(3);
    } finally {
      await c.end();
    }
  });

  it("move a webhook secret out of Location.settings into its sealed column, still opening", async () => {
    const { keyringFrom, open, seal } = await import("@/lib/crypto");
    const keys = keyringFrom(`k1:${Buffer.alloc(32, 7).toString("base64")}`);
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      // the row as the previous version wrote it, then the migration's own SQL
      await c.query(`ALTER TABLE "Location" DROP COLUMN "webhookSecretEnc"`);
      const sealed = seal("whsec_old", "webhook:LW", keys);
      await c.query(
        `INSERT INTO "Location"(id, name, "updatedAt", settings) VALUES ('LW', 'W', now(), $1), ('LX', 'X', now(), '{"maxWaitMinutes": 5}')`,
        [JSON.stringify({ webhookUrl: "https://hooks.example/x", webhookSecretEnc: sealed, maxWaitMinutes: 9 })],
      );
      const dir = path.join(
        process.cwd(),
        "prisma",
        "migrations",
        listMigrationNames().find((n) => n.endsWith("_location_webhook_secret"))!,
      );
      await c.query(readFileSync(path.join(dir, "migration.sql"), "utf8"));
      const { rows } = await c.query<{ id: string; settings: unknown; webhookSecretEnc: string | null }>(
        `SELECT id, settings, "webhookSecretEnc" FROM "Location" WHERE id IN ('LW', 'LX') ORDER BY id`,
      );
      expect(rows).toEqual([
        { id: "LW", settings: { webhookUrl: "https://hooks.example/x", maxWaitMinutes: 9 }, webhookSecretEnc: sealed },
        { id: "LX", settings: { maxWaitMinutes: 5 }, webhookSecretEnc: null },
      ]);
      expect(open(rows[0].webhookSecretEnc!, "webhook:LW", keys)).toBe("whsec_old");
    } finally {
      await c.end();
    }
  });
});
