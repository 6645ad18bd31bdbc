// Shared by `npm run dev` and `npm test`: from a fresh clone, install what is missing, find or
// start Postgres and Redis, create the database and apply migrations. Plain Node (no deps) until
// `npm ci` has run, so it works on a machine with only Node.
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const root = fileURLToPath(new URL("../..", import.meta.url));
export const dataDir = path.join(root, ".data");

export function say(msg) {
  process.stdout.write(`\x1b[36m[bootstrap]\x1b[0m ${msg}\n`);
}

export function fail(msg) {
  process.stderr.write(`\x1b[31m[bootstrap] ${msg}\x1b[0m\n`);
  process.exit(1);
}

/** Reads KEY=VALUE lines; the real environment wins over the file. */
export function loadDotEnv(file = path.join(root, ".env")) {
  if (!existsSync(file)) return {};
  const out = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = line.match(/^\s*([A-Z0-9_]+)\s*=\s*(.*)\s*$/);
    if (!m) continue;
    let v = m[2];
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
    out[m[1]] = v;
  }
  return out;
}

export function ensureDependencies() {
  const lock = path.join(root, "package-lock.json");
  const marker = path.join(root, "node_modules", ".package-lock.json");
  const stale = () => !existsSync(marker) || statSync(lock).mtimeMs > statSync(marker).mtimeMs + 1000;
  if (stale()) {
    // two commands started at once (npm test in one terminal, npm run dev in another) must not
    // both run npm ci: the second would delete node_modules under the first
    withInstallLock(() => {
      if (!stale()) return;
      say("installing dependencies (npm ci)…");
      const r = spawnSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: root, stdio: "inherit" });
      if (r.status !== 0) fail("npm ci failed (see above)");
    });
  }
  // the generated client is not in git: generate it when missing, and again when the schema
  // changed after it was generated (a pull or a merge that adds a column would otherwise leave
  // Prisma reading the old columns, silently, until the next npm ci)
  const client = path.join(root, "lib", "generated", "prisma", "client.ts");
  const schema = path.join(root, "prisma", "schema.prisma");
  if (!existsSync(client) || statSync(schema).mtimeMs > statSync(client).mtimeMs) {
    const r = spawnSync(process.execPath, [path.join(root, "scripts", "prisma-generate.mjs")], {
      cwd: root,
      stdio: "inherit",
    });
    if (r.status !== 0) fail("prisma generate failed (see above)");
  }
}

function withInstallLock(fn) {
  const dir = path.join(root, ".npm-ci.lock");
  const until = Date.now() + 15 * 60_000;
  for (;;) {
    try {
      mkdirSync(dir);
      break;
    } catch {
      // a lock left by a killed install is older than any install takes
      try {
        if (Date.now() - statSync(dir).mtimeMs > 10 * 60_000) rmSync(dir, { recursive: true, force: true });
      } catch {}
      if (Date.now() > until) fail(`another install holds ${dir}; remove it if none is running`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
    }
  }
  try {
    fn();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function tcpOpen(host, port, timeoutMs = 800) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}

function which(bin, extraDirs = []) {
  for (const dir of [...(process.env.PATH ?? "").split(":"), ...extraDirs]) {
    const p = path.join(dir, bin);
    if (dir && existsSync(p)) return p;
  }
  return null;
}

function postgresBinDirs() {
  const base = "/usr/lib/postgresql";
  if (!existsSync(base)) return [];
  return readdirSync(base)
    .sort()
    .reverse()
    .map((v) => path.join(base, v, "bin"));
}

function dockerAvailable() {
  return spawnSync("docker", ["info"], { stdio: "ignore", timeout: 5000 }).status === 0;
}

const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

/** Finds Postgres: configured URL, then the standard local port, then project-local, then Docker. */
export async function findPostgres(envUrl) {
  if (envUrl) {
    const u = new URL(envUrl);
    if (await tcpOpen(u.hostname, Number(u.port || 5432))) return { url: envUrl, how: "configured DATABASE_URL" };
    say(`DATABASE_URL (${u.hostname}:${u.port || 5432}) does not answer; looking elsewhere`);
  }
  if (await tcpOpen("127.0.0.1", 5432))
    return { url: "postgresql://postgres@127.0.0.1:5432/postgres", how: "local Postgres on 5432" };
  const port = 54329;
  if (await tcpOpen("127.0.0.1", port))
    return { url: `postgresql://postgres@127.0.0.1:${port}/postgres`, how: "project Postgres in .data/pg" };
  const initdb = which("initdb", postgresBinDirs());
  if (initdb && !isRoot) {
    const bin = path.dirname(initdb);
    const pgdata = path.join(dataDir, "pg");
    if (!existsSync(path.join(pgdata, "PG_VERSION"))) {
      say("creating a project-local Postgres cluster in .data/pg");
      mkdirSync(dataDir, { recursive: true });
      execFileSync(path.join(bin, "initdb"), ["-D", pgdata, "-U", "postgres", "--auth=trust", "-E", "UTF8"], {
        stdio: "ignore",
      });
    }
    const sock = path.join(dataDir, "pg-socket");
    mkdirSync(sock, { recursive: true });
    execFileSync(
      path.join(bin, "pg_ctl"),
      [
        "-D",
        pgdata,
        "-l",
        path.join(dataDir, "pg.log"),
        "-w",
        "start",
        "-o",
        `-p ${port} -k ${sock} -c listen_addresses=127.0.0.1`,
      ],
      { stdio: "ignore" },
    );
    return {
      url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
      how: "started project Postgres in .data/pg",
      started: true,
    };
  }
  if (dockerAvailable()) {
    say("starting Postgres with Docker Compose");
    execFileSync("docker", ["compose", "up", "-d", "--wait", "postgres"], {
      cwd: root,
      stdio: "inherit",
      env: composeDevEnv(),
    });
    return { url: `postgresql://postgres:${DEV_COMPOSE_PASSWORD}@127.0.0.1:5432/postgres`, how: "Docker Compose" };
  }
  fail(
    "No PostgreSQL found. Install it, e.g. `sudo apt-get install -y postgresql` (Debian/Ubuntu) or `brew install postgresql@15`, " +
      "or set DATABASE_URL in .env to a running server." +
      (isRoot && initdb ? " (As root, start the system cluster: pg_ctlcluster <version> main start.)" : ""),
  );
}

// docker-compose.yml requires both passwords (it ships none); the dev fallback, bound to 127.0.0.1,
// uses a fixed dev-only one (the passwords in URLs it returns match it)
const DEV_COMPOSE_PASSWORD = "ghl-wa-dev-only";
const composeDevEnv = () => ({
  ...process.env,
  POSTGRES_PASSWORD: DEV_COMPOSE_PASSWORD,
  REDIS_PASSWORD: DEV_COMPOSE_PASSWORD,
});

export async function findRedis(envUrl) {
  if (envUrl) {
    const u = new URL(envUrl);
    if (await tcpOpen(u.hostname, Number(u.port || 6379))) return { url: envUrl, how: "configured REDIS_URL" };
    say(`REDIS_URL (${u.hostname}:${u.port || 6379}) does not answer; looking elsewhere`);
  }
  if (await tcpOpen("127.0.0.1", 6379)) return { url: "redis://127.0.0.1:6379", how: "local Redis on 6379" };
  const port = 63799;
  if (await tcpOpen("127.0.0.1", port))
    return { url: `redis://127.0.0.1:${port}`, how: "project Redis in .data/redis" };
  const bin = which("redis-server");
  if (bin) {
    const dir = path.join(dataDir, "redis");
    mkdirSync(dir, { recursive: true });
    execFileSync(
      bin,
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        dir,
        "--daemonize",
        "yes",
        "--save",
        "",
        "--appendonly",
        "yes",
        "--logfile",
        path.join(dataDir, "redis.log"),
      ],
      { stdio: "ignore" },
    );
    for (let i = 0; i < 50 && !(await tcpOpen("127.0.0.1", port)); i++) await sleep(100);
    return { url: `redis://127.0.0.1:${port}`, how: "started project Redis in .data/redis", started: true };
  }
  if (dockerAvailable()) {
    say("starting Redis with Docker Compose");
    execFileSync("docker", ["compose", "up", "-d", "--wait", "redis"], {
      cwd: root,
      stdio: "inherit",
      env: composeDevEnv(),
    });
    return { url: `redis://:${DEV_COMPOSE_PASSWORD}@127.0.0.1:6379`, how: "Docker Compose" };
  }
  fail(
    "No Redis found. Install it, e.g. `sudo apt-get install -y redis-server` or `brew install redis`, or set REDIS_URL in .env.",
  );
}

/** Returns the URL of `dbName` on the server of `serverUrl`, creating it (optionally fresh). */
export async function ensureDatabase(serverUrl, dbName, { fresh = false } = {}) {
  const { default: pg } = await import("pg");
  const admin = new URL(serverUrl);
  admin.pathname = "/postgres";
  const c = new pg.Client({ connectionString: admin.toString() });
  await c.connect();
  try {
    if (fresh) await c.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    const r = await c.query("SELECT 1 FROM pg_database WHERE datname = $1", [dbName]);
    if (r.rowCount === 0) await c.query(`CREATE DATABASE "${dbName}"`);
  } finally {
    await c.end();
  }
  const u = new URL(serverUrl);
  u.pathname = `/${dbName}`;
  return u.toString();
}

export function migrate(databaseUrl) {
  const r = spawnSync(process.execPath, ["--import", "tsx", path.join(root, "prisma", "migrate.ts"), "deploy"], {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, DATABASE_URL: databaseUrl },
  });
  if (r.status !== 0) fail("migrations failed (see above)");
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** Starts a child with prefixed output; returns the ChildProcess. */
export function startChild(name, cmd, args, env, color = 35) {
  const child = spawn(cmd, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const prefix = `\x1b[${color}m[${name}]\x1b[0m `;
  const pipe = (stream, out) => {
    let buf = "";
    stream.on("data", (d) => {
      buf += d;
      const lines = buf.split("\n");
      buf = lines.pop();
      for (const l of lines) out.write(prefix + l + "\n");
    });
  };
  pipe(child.stdout, process.stdout);
  pipe(child.stderr, process.stderr);
  return child;
}

export async function waitForHttp(url, { timeoutMs = 120_000, ok = (s) => s < 500 } = {}) {
  const end = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < end) {
    try {
      const r = await fetch(url);
      if (ok(r.status)) return r;
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = e.message;
    }
    await sleep(500);
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms (${last})`);
}

/**
 * Starts PgBouncer in transaction mode in front of the Postgres at `serverUrl`, on a free port,
 * with its files under .data/pgbouncer-<port>; null when the `pgbouncer` binary is missing.
 * Every database of that server is reachable through it (`* =`), with the server URL's user.
 * PgBouncer refuses to run as root, so as root it runs as the `postgres` user.
 */
export async function startPgBouncer(serverUrl, { poolSize = 20 } = {}) {
  const bin = which("pgbouncer", ["/usr/sbin"]);
  if (!bin) return null;
  const server = new URL(serverUrl);
  const port = await freePort();
  const dir = path.join(dataDir, `pgbouncer-${port}`);
  mkdirSync(dir, { recursive: true });
  const user = decodeURIComponent(server.username || "postgres");
  const ini = [
    "[databases]",
    `* = host=${server.hostname} port=${server.port || 5432} user=${user}${server.password ? ` password=${decodeURIComponent(server.password)}` : ""}`,
    "[pgbouncer]",
    "listen_addr = 127.0.0.1",
    `listen_port = ${port}`,
    "unix_socket_dir =",
    // local test servers trust their clients; PgBouncer passes the configured user on
    "auth_type = any",
    "pool_mode = transaction",
    "max_client_conn = 2000",
    `default_pool_size = ${poolSize}`,
    // node-postgres sends these at startup; PgBouncer would refuse the connection otherwise
    "ignore_startup_parameters = extra_float_digits,options",
    `pidfile = ${path.join(dir, "pgbouncer.pid")}`,
    `logfile = ${path.join(dir, "pgbouncer.log")}`,
    "",
  ].join("\n");
  const file = path.join(dir, "pgbouncer.ini");
  writeFileSync(file, ini, { mode: 0o600 });
  if (isRoot) execFileSync("chown", ["-R", "postgres", dir]);
  const cmd = isRoot ? "runuser" : bin;
  const args = isRoot ? ["-u", "postgres", "--", bin, "-d", file] : ["-d", file];
  execFileSync(cmd, args, { stdio: "ignore" });
  for (let i = 0; i < 50 && !(await tcpOpen("127.0.0.1", port)); i++) await sleep(100);
  if (!(await tcpOpen("127.0.0.1", port))) fail(`PgBouncer did not start (see ${path.join(dir, "pgbouncer.log")})`);
  const url = new URL(serverUrl);
  url.host = `127.0.0.1:${port}`;
  const pidFile = path.join(dir, "pgbouncer.pid");
  return {
    url: url.toString(),
    port,
    stop() {
      try {
        process.kill(Number(readFileSync(pidFile, "utf8").trim()), "SIGTERM");
      } catch {
        /* already gone */
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A loopback port nobody listens on right now (for a stack of its own: e2e, benchmarks). */
export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = /** @type {import("node:net").AddressInfo} */ (srv.address()).port;
      srv.close(() => resolve(port));
    });
  });
}
