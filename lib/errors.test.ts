import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ZodError } from "zod";
import {
  AppError,
  badRequest,
  conflict,
  forbidden,
  notFound,
  STATUS_OF_CODE,
  toErrorResponse,
  unauthorized,
} from "./errors";

// One code, one status: every code the tree throws or answers with is in the table, and a body
// written by hand (without AppError) uses the table's status for its code.
const ROOTS = ["lib", "app", "worker"];

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name === "generated") continue;
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (/\.tsx?$/.test(name)) out.push(p);
  }
  return out;
}

const files = ROOTS.flatMap((r) => sources(path.join(process.cwd(), r))).map((f) => ({
  f: path.relative(process.cwd(), f),
  text: readFileSync(f, "utf8"),
}));
const known = new Set(Object.keys(STATUS_OF_CODE));

describe("the code → status table", () => {
  it("holds every code passed to new AppError, and every code of an AppError subclass", () => {
    const thrown: { f: string; code: string }[] = [];
    for (const { f, text } of files) {
      for (const m of text.matchAll(/new AppError\(\s*"([a-z_]+)"/g)) thrown.push({ f, code: m[1] });
      // subclasses (GhlApiError) pick their code in super(...): every string literal there is one
      if (/extends AppError\b/.test(text)) {
        for (const s of text.matchAll(/super\(([^;]*)\);/g))
          for (const m of s[1].matchAll(/"([a-z_]+)"/g)) thrown.push({ f, code: m[1] });
      }
    }
    expect(thrown.length).toBeGreaterThan(25); // the scan finds what is there
    expect(thrown.filter((t) => !known.has(t.code))).toEqual([]);
  });

  it("gives a hand-written error body the table's status for its code", () => {
    const written: { f: string; code: string; status?: number }[] = [];
    for (const { f, text } of files) {
      for (const line of text.split("\n")) {
        const code = /error: \{ code: "([a-z_]+)"/.exec(line)?.[1];
        if (!code) continue;
        const status = /status: (\d{3})\b|send\(res, (\d{3})/.exec(line);
        written.push({ f, code, status: status ? Number(status[1] ?? status[2]) : undefined });
      }
    }
    expect(written.length).toBeGreaterThan(3);
    expect(written.filter((w) => !known.has(w.code))).toEqual([]);
    const mismatched = written.filter(
      (w) => w.status !== undefined && w.status !== STATUS_OF_CODE[w.code as keyof typeof STATUS_OF_CODE],
    );
    expect(mismatched).toEqual([]);
  });

  it("is the only source of an AppError's status", () => {
    expect(new AppError("not_installed", "gone").status).toBe(403);
    expect(new AppError("payload_too_large", "big").status).toBe(413);
    expect(new AppError("link_expired", "old").status).toBe(410);
    expect([badRequest("x"), unauthorized(), forbidden(), notFound(), conflict("x")].map((e) => e.status)).toEqual([
      400, 401, 403, 404, 409,
    ]);
    for (const [code, status] of Object.entries(STATUS_OF_CODE))
      expect(toErrorResponse(new AppError(code as keyof typeof STATUS_OF_CODE, "m")).status, code).toBe(status);
  });

  it("answers a zod error with validation_failed's status and the fields", () => {
    const r = toErrorResponse(new ZodError([{ code: "custom", path: ["to"], message: "bad phone", input: "x" }]));
    expect(r).toEqual({
      status: STATUS_OF_CODE.validation_failed,
      body: {
        error: { code: "validation_failed", message: "the request is not valid", fields: { to: ["bad phone"] } },
      },
    });
  });
});
