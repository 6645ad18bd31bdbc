import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GET } from "@/app/api/media/[mediaId]/[expires]/[signature]/[fileName]/route";
import { db } from "@/lib/db";
import { saveMedia } from "@/lib/media/media-store";
import { params, req, useAppEnv } from "./helpers/app-env";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";

let restore: () => Promise<void>;
beforeAll(async () => {
  restore = useAppEnv({ databaseUrl: await cloneTemplateDb(dbNameFor(import.meta.filename)) });
  await db().location.create({ data: { id: "locA", name: "A" } });
});
afterAll(async () => restore());

const call = (path: string) => {
  const [, , , mediaId, expires, signature, fileName] = path.split("/");
  return GET(req(path), params({ mediaId, expires, signature, fileName }));
};

describe("GET /api/media/… (signed media for GHL)", () => {
  it("serves the bytes with their type under a query-free signed path", async () => {
    const { path } = await saveMedia(db(), "locA", {
      bytes: Buffer.from("PNGDATA"),
      mimetype: "image/png",
      fileName: "photo 1.png",
    });
    expect(path).not.toContain("?");
    const r = await call(path);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("image/png");
    expect(Buffer.from(await r.arrayBuffer()).toString()).toBe("PNGDATA");
  });

  it("a contact's HTML or SVG 'media' is downloaded, never rendered from our origin; images are inline, all sandboxed", async () => {
    const html = await saveMedia(db(), "locA", {
      bytes: Buffer.from("<script>alert(document.cookie)</script>"),
      mimetype: "text/html",
      fileName: "invoice.html",
    });
    const svg = await saveMedia(db(), "locA", {
      bytes: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
      mimetype: "image/svg+xml",
      fileName: "pic.svg",
    });
    for (const { path } of [html, svg]) {
      const r = await call(path);
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toBe("application/octet-stream");
      expect(r.headers.get("content-disposition")).toMatch(/^attachment; filename="(invoice\.html|pic\.svg)"/);
      expect(r.headers.get("content-security-policy")).toBe("sandbox");
      expect(r.headers.get("x-content-type-options")).toBe("nosniff");
    }
    const pdf = await call(
      (
        await saveMedia(db(), "locA", {
          bytes: Buffer.from("%PDF-1.4"),
          mimetype: "application/pdf",
          fileName: "a.pdf",
        })
      ).path,
    );
    expect([pdf.headers.get("content-type"), pdf.headers.get("content-disposition")?.split(";")[0]]).toEqual([
      "application/pdf",
      "attachment",
    ]);
    const img = await call(
      (await saveMedia(db(), "locA", { bytes: Buffer.from("PNG"), mimetype: "image/png", fileName: "p.png" })).path,
    );
    expect(img.headers.get("content-disposition")).toMatch(/^inline; /);
    expect(img.headers.get("content-security-policy")).toBe("sandbox");
  });

  it("refuses a forged signature with 403 and an unknown id with 404, in the one error shape", async () => {
    const { path } = await saveMedia(db(), "locA", {
      bytes: Buffer.from("x"),
      mimetype: "text/plain",
      fileName: "a.txt",
    });
    const parts = path.split("/");
    parts[5] = "A".repeat(32);
    const forged = await call(parts.join("/"));
    expect(forged.status).toBe(403);
    expect(await forged.json()).toEqual({ error: { code: "forbidden", message: "invalid media link" } });
    const p2 = path.split("/");
    await db().mediaBlob.deleteMany({ where: { id: p2[3] } });
    expect((await call(path)).status).toBe(404);
  });
});
