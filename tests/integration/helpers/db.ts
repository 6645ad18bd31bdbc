import pg from "pg";

// Each integration test file gets its own database cloned from the migrated template that
// scripts/test.mjs prepared: no shared state between files, and no migration cost per file.
export async function cloneTemplateDb(name: string): Promise<string> {
  const server = process.env.TEST_PG_SERVER_URL;
  const template = process.env.TEST_TEMPLATE_DB;
  if (!server || !template)
    throw new Error("TEST_PG_SERVER_URL/TEST_TEMPLATE_DB not set: run tests through `npm test`");
  const admin = new URL(server);
  admin.pathname = "/postgres";
  const c = new pg.Client({ connectionString: admin.toString() });
  await c.connect();
  try {
    await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await c.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
  } finally {
    await c.end();
  }
  // TEST_PGBOUNCER_URL (npm test's PgBouncer step): everything the test, the app and the worker
  // do goes through PgBouncer in transaction mode; only the cloning above is direct
  const u = new URL(process.env.TEST_PGBOUNCER_URL || server);
  u.pathname = `/${name}`;
  return u.toString();
}

export function dbNameFor(file: string): string {
  const base = file
    .split("/")
    .pop()!
    .replace(/\.test\.ts$/, "")
    .replace(/[^a-z0-9]+/gi, "_")
    .toLowerCase();
  return `ghl_wa_it_${base}`.slice(0, 60);
}
