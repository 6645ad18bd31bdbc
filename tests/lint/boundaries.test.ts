import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

// biome.json's boundaries, proved on sources that break them: each source is written at the given
// path in a scratch tree that holds a copy of the repository's biome.json (the path picks the
// rules: overrides are relative to the config), and linted there.
const root = path.resolve(import.meta.dirname, "../..");
const biome = path.join(root, "node_modules", ".bin", "biome");
const scratch = mkdtempSync(path.join(tmpdir(), "lint-boundaries-"));
copyFileSync(path.join(root, "biome.json"), path.join(scratch, "biome.json"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
let n = 0;

function lint(asPath: string, source: string) {
  const dir = path.join(scratch, `case-${n++}`);
  const file = path.join(dir, asPath);
  mkdirSync(path.dirname(file), { recursive: true });
  copyFileSync(path.join(scratch, "biome.json"), path.join(dir, "biome.json"));
  writeFileSync(file, source);
  const r = spawnSync(biome, ["lint", "--vcs-enabled=false", asPath], { cwd: dir, encoding: "utf8" });
  return { ok: r.status === 0, out: `${r.stdout}\n${r.stderr}` };
}

/** `biome check` (lint, formatting and import order), as npm test's lint step runs it. */
function check(asPath: string, source: string) {
  const dir = path.join(scratch, `case-${n++}`);
  const file = path.join(dir, asPath);
  mkdirSync(path.dirname(file), { recursive: true });
  copyFileSync(path.join(scratch, "biome.json"), path.join(dir, "biome.json"));
  writeFileSync(file, source);
  const r = spawnSync(biome, ["check", "--vcs-enabled=false", asPath], { cwd: dir, encoding: "utf8" });
  return { ok: r.status === 0, out: `${r.stdout}\n${r.stderr}` };
}

describe("formatting and import order (biome.json)", () => {
  it("refuses a file the formatter would change", () => {
    const r = check("lib/messages/probe.ts", "export const x = {a:1}\n");
    expect(r.ok, r.out).toBe(false);
    expect(r.out).toMatch(/format/i);
  });

  it("refuses imports out of order", () => {
    const r = check(
      "lib/messages/probe.ts",
      'import { z } from "zod";\nimport path from "node:path";\n\nexport const x = [z, path];\n',
    );
    expect(r.ok, r.out).toBe(false);
    expect(r.out).toContain("organizeImports");
  });

  it("accepts a formatted file with its imports in order", () => {
    const r = check(
      "lib/messages/probe.ts",
      'import path from "node:path";\nimport { z } from "zod";\n\nexport const x = [z, path];\n',
    );
    expect(r.ok, r.out).toBe(true);
  });
});

describe("import boundaries (biome.json)", () => {
  const cases: [string, string, string][] = [
    [
      "lib/messages/probe.ts",
      `import { OutboundSender } from "@/worker/messaging/outbound-sender";\nexport const x = OutboundSender;\n`,
      "lib → worker",
    ],
    [
      "lib/messages/probe.ts",
      `import { GET } from "../../app/api/health/route";\nexport const x = GET;\n`,
      "lib → app (relative)",
    ],
    [
      "lib/probe.ts",
      `import { startSandbox } from "@/sandbox/main";\nexport const x = startSandbox;\n`,
      "lib → sandbox",
    ],
    [
      "app/api/probe/route.ts",
      `import { startHousekeeping } from "@/worker/jobs/housekeeping";\nexport const x = startHousekeeping;\n`,
      "app → worker",
    ],
    ["worker/jobs/probe.ts", `import { GET } from "@/app/api/health/route";\nexport const x = GET;\n`, "worker → app"],
    ["sandbox/ghl/probe.ts", `import { env } from "../../lib/env";\nexport const x = env;\n`, "sandbox → lib"],
  ];
  for (const [asPath, source, what] of cases) {
    it(`refuses ${what}`, () => {
      const r = lint(asPath, source);
      expect(r.ok, r.out).toBe(false);
      expect(r.out).toContain("noRestrictedImports");
    });
  }

  it("refuses process.env outside lib/env.ts", () => {
    const r = lint("lib/messages/probe.ts", "export const url = process.env.DATABASE_URL;\n");
    expect(r.ok).toBe(false);
    expect(r.out).toContain("noProcessEnv");
    expect(lint("lib/env.ts", "export const url = process.env.DATABASE_URL;\n").ok).toBe(true);
  });

  it("allows what the layers may import", () => {
    for (const [asPath, source] of [
      ["worker/jobs/probe.ts", `import { db } from "@/lib/db";\nexport const x = db;\n`],
      ["app/api/probe/route.ts", `import { db } from "@/lib/db";\nexport const x = db;\n`],
      ["lib/messages/probe.ts", `import { db } from "../db";\nexport const x = db;\n`],
    ]) {
      const r = lint(asPath, source);
      expect(r.ok, r.out).toBe(true);
    }
  });
});
