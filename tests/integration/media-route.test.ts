import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { db } from "@/lib/db";
import { saveMedia } from "@/lib/media/media-store";
import { GET } from "@/app/api/media/[mediaId]/[expires]/[signature]/[fileName]/route";
import { cloneTemplateDb, dbNameFor } from "./helpers/db";
import { params, req, useAppEnv } from "./helpers/app-env";

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
    const { path } = await saveMedia(db(), "locA", { bytes: Buffer.from("PNGDATA"), mimetype: "image/png", fileName: "photo 1.png" });
    expect(path).not.toContain("?");
    const r = await call(path);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("image/png");
    expect(Buffer.from(await r.arrayBuffer()).toString()).toBe("PNGDATA");
  });

  it("refuses a forged signature with 403 and an unknown id with 404, in the one error shape", async () => {
    const { path } = await saveMedia(db(), "locA", { bytes: Buffer.from("x"), mimetype: "text/plain", fileName: "a.txt" });
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
