import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { instanceStatusSchema, MESSAGE_STATUSES } from "./enum-schemas";
import { instanceEventSchema, parseLiveEvent } from "./events/live-events";
import { InstanceStatus, MessageStatus } from "./generated/prisma/enums";

// The panel's client components import the enum and event schemas from lib/: what they pull in
// (at run time, `import type` aside) must stay free of the server (a driver, Redis, Node's
// built-ins, the Prisma client, the environment). Walked statically, file by file.
const root = path.resolve(import.meta.dirname, "..");
const SERVER_ONLY = [/^node:/, /^(ioredis|pg|bullmq|pino|@prisma\/|@whiskeysockets\/|next-auth$)/];
const SERVER_FILES = [
  "lib/db.ts",
  "lib/env.ts",
  "lib/redis.ts",
  "lib/crypto.ts",
  "lib/log.ts",
  "lib/generated/prisma/client.ts",
];

/** Every runtime import reachable from `entry` that is server-only, as "file → import". */
function serverImports(entry: string, seen = new Set<string>()): string[] {
  if (seen.has(entry)) return [];
  seen.add(entry);
  const rel = path.relative(root, entry);
  if (SERVER_FILES.includes(rel)) return [rel];
  const out: string[] = [];
  for (const spec of runtimeImports(readFileSync(entry, "utf8"))) {
    const local = resolveLocal(entry, spec);
    if (local) out.push(...serverImports(local, seen));
    else if (SERVER_ONLY.some((r) => r.test(spec))) out.push(`${rel} → ${spec}`);
  }
  return out;
}

describe("client components", () => {
  const clients = walk(path.join(root, "app")).filter(
    (f) => /\.tsx?$/.test(f) && /^["']use client["']/.test(readFileSync(f, "utf8")),
  );

  it("import nothing server-only, however deep", () => {
    expect(clients.length).toBeGreaterThan(3);
    for (const f of clients) expect(serverImports(f), path.relative(root, f)).toEqual([]);
  });

  it("the walk does find server code where there is some (so the check above can fail)", () => {
    expect(serverImports(path.join(root, "lib/api/instances-api.ts")).length).toBeGreaterThan(0);
    expect(serverImports(path.join(root, "lib/events/hub.ts")).join()).toContain("lib/redis.ts");
  });
});

describe("enum and event schemas", () => {
  it("follow Prisma's enums (no list of statuses written by hand)", () => {
    expect(instanceStatusSchema.options).toEqual(Object.values(InstanceStatus));
    expect(MESSAGE_STATUSES).toEqual(Object.values(MessageStatus));
    expect(MESSAGE_STATUSES).toContain("SENDING");
  });

  it("parse what the worker publishes and what the hub withholds; skip what they do not know", () => {
    const status = {
      type: "instance.status",
      instanceId: "i1",
      status: "ONLINE",
      phone: "+1555",
      at: "2026-12-03T00:00:00Z",
    } as const;
    expect(instanceEventSchema.parse(status)).toEqual(status);
    expect(parseLiveEvent(JSON.stringify(status))).toEqual(status);
    expect(
      parseLiveEvent(JSON.stringify({ type: "instance.qr", instanceId: "i1", qr: "2@x", expiresAt: "t" })),
    ).toMatchObject({ qr: "2@x" });
    expect(
      parseLiveEvent(
        JSON.stringify({ type: "instance.qr", instanceId: "i1", expiresAt: "t", withheld: "admin_required" }),
      ),
    ).toMatchObject({ withheld: "admin_required" });
    expect(parseLiveEvent(JSON.stringify({ ...status, status: "SLEEPING" }))).toBeUndefined();
    expect(parseLiveEvent(JSON.stringify({ type: "instance.renamed", instanceId: "i1" }))).toBeUndefined();
    expect(parseLiveEvent("not json")).toBeUndefined();
  });
});

function runtimeImports(src: string): string[] {
  const out: string[] = [];
  const re = /^\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']/gm;
  for (const m of src.matchAll(re)) {
    if (m[5]) {
      out.push(m[5]);
      continue;
    }
    if (m[2]) continue; // import type … / export type …
    const names = m[3].match(/\{([^}]*)\}/)?.[1];
    const onlyTypes =
      names !== undefined &&
      !/^[^{]*\w[^{]*\{/.test(m[3]) &&
      names
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean)
        .every((s) => s.startsWith("type "));
    if (!onlyTypes) out.push(m[4]);
  }
  return out;
}

function resolveLocal(from: string, spec: string): string | undefined {
  const base = spec.startsWith("@/")
    ? path.join(root, spec.slice(2))
    : spec.startsWith(".")
      ? path.resolve(path.dirname(from), spec)
      : undefined;
  if (!base) return undefined;
  return [base, `${base}.ts`, `${base}.tsx`, path.join(base, "index.ts")].find(
    (p) => existsSync(p) && !p.endsWith("/") && /\.tsx?$/.test(p),
  );
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)],
  );
}
