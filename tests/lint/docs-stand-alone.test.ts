import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

// The repository's documents and comments stand alone: they point into docs/, AGENTS.md and
// SECURITY.md, never to notes kept outside the repository (a newcomer's clone does not have them).
const root = path.resolve(import.meta.dirname, "../..");
const OUTSIDE = /\.\.\/shared\/|\/work\/shared|\b(?:ghl-platform|sandbox-api|conventions)\.md\b/;
const SELF = "tests/lint/docs-stand-alone.test.ts";

/** Tracked and new (not ignored) files: what a clone would hold. */
function files(): string[] {
  const out = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], {
    cwd: root,
    encoding: "utf8",
  });
  return out.split("\n").filter((f) => f && f !== SELF && /\.(ts|tsx|mjs|js|md|prisma|json|yml|yaml|example)$/.test(f));
}

describe("documents stand alone", () => {
  it("no file points to notes outside the repository", () => {
    const found: string[] = [];
    for (const f of files()) {
      let text: string;
      try {
        text = readFileSync(path.join(root, f), "utf8");
      } catch {
        continue; // listed but deleted in the work tree
      }
      text.split("\n").forEach((line, i) => {
        if (OUTSIDE.test(line)) found.push(`${f}:${i + 1}: ${line.trim().slice(0, 120)}`);
      });
    }
    expect(found).toEqual([]);
  });

  it("would catch one", () => {
    expect(OUTSIDE.test("// see ghl-platform.md §2")).toBe(true);
    expect(OUTSIDE.test("contract: `../shared/sandbox-api.md`")).toBe(true);
    expect(OUTSIDE.test("docs/ghl.md#webhook-retries")).toBe(false);
  });
});
