import { createDb } from "@/lib/db";
import { type ManagerConfig, makeManager } from "./wa-fixture";

// A worker's session manager in its own process, so a test can kill -9 it like a crashed worker.
const c = JSON.parse(process.argv[2]) as ManagerConfig;
const db = createDb(c.databaseUrl, 4);
const { m } = makeManager(db, c);
void m.start().then(() => {
  process.stdout.write("ready\n");
  setInterval(() => process.stdout.write(`owned ${m.owned().join(",")}\n`), 500);
});
