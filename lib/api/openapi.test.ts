import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { documentedOps, openApiDocument } from "./openapi";

// Contract between the document and the code: every documented operation is a route file that
// exports that method, and every API-key route is documented.
const appApi = path.join(process.cwd(), "app", "api");
const routeFile = (p: string) =>
  path.join(process.cwd(), "app", p.replace(/^\//, "").replace(/\{(\w+)\}/g, "[$1]"), "route.ts");

function apiKeyRoutes(dir: string, out: string[] = []) {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) apiKeyRoutes(p, out);
    else if (name === "route.ts" && /withAuth\(\{ via: \[[^\]]*"api-key"/.test(readFileSync(p, "utf8"))) out.push(p);
  }
  return out;
}

describe("OpenAPI document", () => {
  const doc = openApiDocument("http://x");

  it("is OpenAPI 3.1 with the API-key schemes and one error shape", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.components.securitySchemes)).toEqual(["apiKey", "bearer"]);
    expect(doc.components.schemas.Error).toMatchObject({ type: "object", required: ["error"] });
  });

  it("documents only operations the code implements", () => {
    for (const op of documentedOps()) {
      const file = routeFile(op.path);
      expect(existsSync(file), `${op.path} → ${file}`).toBe(true);
      expect(readFileSync(file, "utf8"), `${op.method.toUpperCase()} ${op.path}`).toMatch(
        new RegExp(`export (const|async function|function) ${op.method.toUpperCase()}\\b`),
      );
    }
  });

  it("documents every route that accepts an API key", () => {
    const documented = new Set(documentedOps().map((o) => routeFile(o.path)));
    for (const f of apiKeyRoutes(appApi)) expect(documented.has(f), f).toBe(true);
  });

  it("request schemas come from the zod schemas (field rules included)", () => {
    const send = doc.paths["/api/send"].post as {
      requestBody: {
        content: {
          "application/json": { schema: { properties: Record<string, { pattern?: string }>; required: string[] } };
        };
      };
    };
    const schema = send.requestBody.content["application/json"].schema;
    expect(schema.required).toEqual(expect.arrayContaining(["instanceId", "to"]));
    expect(schema.properties.instanceId.pattern).toBe("^[a-z0-9][a-z0-9_-]{0,31}$");
  });
});
