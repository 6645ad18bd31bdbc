// A Postgres cluster and a Redis server of one's own (the chaos run kills and restarts them), in a
// temp dir on free ports: never the machine's shared 5432/6379. As root, Postgres runs as the
// `postgres` user (initdb refuses root). Everything here is plain Node so scripts can use it too.
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync } from "node:fs";
import path from "node:path";
import { sleep, tcpOpen } from "./bootstrap.mjs";

const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

function pgBin(name) {
  const base = "/usr/lib/postgresql";
  if (existsSync(base)) {
    for (const v of readdirSync(base).sort((a, b) => Number(b) - Number(a))) {
      const p = path.join(base, v, "bin", name);
      if (existsSync(p)) return p;
    }
  }
  return name; // on PATH (Homebrew, a custom install)
}

/** Runs a Postgres tool, as the `postgres` user when we are root. */
function pgRun(name, args, opts = {}) {
  const bin = pgBin(name);
  const [cmd, argv] = isRoot ? ["runuser", ["-u", "postgres", "--", bin, ...args]] : [bin, args];
  try {
    return execFileSync(cmd, argv, { stdio: ["ignore", "pipe", "pipe"], ...opts }).toString();
  } catch (e) {
    throw Object.assign(new Error(`${name} ${args.join(" ")}: ${String(e?.stderr ?? e).trim()}`), {
      stderr: String(e?.stderr ?? ""),
    });
  }
}

function userIds(name) {
  const line = execFileSync("getent", ["passwd", name]).toString().trim();
  const f = line.split(":");
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

/**
 * initdb in `dir`/pg and start it on `port` (as root, every folder above `dir` must be searchable
 * by the `postgres` user: a mkdtemp folder is 0700, chmod it 0755) (listening on 127.0.0.1 only, socket in `dir`).
 * Returns the server URL and stop/start for the chaos run.
 */
export async function startPrivatePostgres({ dir, port }) {
  mkdirSync(dir, { recursive: true });
  if (isRoot) {
    const { uid, gid } = userIds("postgres");
    chownSync(dir, uid, gid);
    chmodSync(dir, 0o755);
  }
  const pgdata = path.join(dir, "pg");
  const log = path.join(dir, "pg.log");
  if (!existsSync(path.join(pgdata, "PG_VERSION")))
    pgRun("initdb", ["-D", pgdata, "-U", "postgres", "--auth=trust", "-E", "UTF8"]);
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off -c synchronous_commit=off`;
  const start = async () => {
    pgRun("pg_ctl", ["-D", pgdata, "-l", log, "-w", "-t", "60", "start", "-o", opts]);
    for (let i = 0; i < 100 && !(await tcpOpen("127.0.0.1", port)); i++) await sleep(100);
  };
  /** `fast`: clients are disconnected, the server shuts down cleanly; `immediate`: as a crash. */
  const stop = (mode = "fast") => {
    try {
      pgRun("pg_ctl", ["-D", pgdata, "-w", "-t", "60", "stop", "-m", mode]);
    } catch (e) {
      if (!/not running|No such process|Is server running/i.test(String(e?.stderr ?? e))) throw e;
    }
  };
  await start();
  return { url: `postgresql://postgres@127.0.0.1:${port}/postgres`, port, dir, log, start, stop };
}

/**
 * redis-server on `port` with no persistence at all: a restart comes back EMPTY (a failover to a
 * replica that had nothing). A child of this process, so it can be SIGKILLed.
 */
export async function startPrivateRedis({ dir, port }) {
  mkdirSync(dir, { recursive: true });
  let child;
  const start = async () => {
    child = spawn(
      "redis-server",
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        dir,
        "--logfile",
        path.join(dir, "redis.log"),
      ],
      { stdio: "ignore" },
    );
    for (let i = 0; i < 100 && !(await tcpOpen("127.0.0.1", port)); i++) await sleep(50);
    if (!(await tcpOpen("127.0.0.1", port)))
      throw new Error(`redis-server did not start on ${port} (see ${dir}/redis.log)`);
  };
  const kill = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise((r) => c.once("exit", r));
    c.kill("SIGKILL");
    await gone;
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, port, dir, start, kill, pid: () => child?.pid };
}
