import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";

// The reference files are used as published; the few places where they cannot be fed to ajv as-is,
// or contradict what GHL actually accepts, are adapted here in code (never in the files):
//  1. `../common/common-schemas.json` is not part of the snapshot: its three DTOs are defined below.
//  2. Non-JSON-Schema types (`any`, `Date`) are dropped; `nullable` is understood by ajv.
//  3. ProcessMessageBodyDto.direction is typed `object` but GHL takes "inbound" | "outbound".
//  4. UploadFilesDto requires `attachmentUrls` even when files are sent as `fileAttachment`:
//     the route requires one of the two instead (see conversations-routes.ts).
//  5. UpsertContactDto.dateOfBirth is typed `object` while its examples are strings: both are taken.
//  6. Statuses an operation does not declare (403, 404, 429, 5xx, most 422s) answer GHL's common
//     error shape, checked against GenericErrorDTO.

const FILES = ["oauth", "contacts", "conversations", "custom-menus", "users", "locations"] as const;

const COMMON = {
  BadRequestDTO: { type: "object", properties: { statusCode: { type: "number" }, message: { type: "string" } } },
  UnauthorizedDTO: {
    type: "object",
    properties: { statusCode: { type: "number" }, message: { type: "string" }, error: { type: "string" } },
  },
  UnprocessableDTO: {
    type: "object",
    properties: {
      statusCode: { type: "number" },
      message: { type: "array", items: { type: "string" } },
      error: { type: "string" },
    },
  },
  GenericErrorDTO: {
    type: "object",
    required: ["statusCode", "message"],
    properties: {
      statusCode: { type: "number" },
      message: { anyOf: [{ type: "string" }, { type: "array", items: { type: "string" } }] },
      error: { type: "string" },
    },
  },
};

const JSON_TYPES = new Set(["string", "number", "integer", "boolean", "object", "array", "null"]);

export interface Param {
  name: string;
  in: string;
  required: boolean;
  validate: ValidateFunction;
}
export interface Operation {
  file: string;
  method: string;
  template: string;
  operationId: string;
  regex: RegExp;
  paramNames: string[];
  params: Param[];
  body?: { contentType: string; validate: ValidateFunction; schemaName?: string };
  responses: Map<number, ValidateFunction | null>;
  scopes: string[];
  schemes: string[];
}
export interface OpenApi {
  find(method: string, path: string): { op: Operation; pathParams: Record<string, string> } | undefined;
  validateBody(op: Operation, body: unknown): string[];
  validateParams(
    op: Operation,
    where: "query" | "header" | "path",
    values: Record<string, string | undefined>,
  ): string[];
  validateResponse(op: Operation | undefined, status: number, body: unknown): string[];
  schema(file: string, name: string): ValidateFunction;
}

const cache = new Map<string, OpenApi>();

export function loadOpenApi(dir: string): OpenApi {
  let api = cache.get(dir);
  if (!api) {
    api = build(dir);
    cache.set(dir, api);
  }
  return api;
}

function build(dir: string): OpenApi {
  const ajv = new Ajv({ strict: false, allErrors: true });
  const ajvParams = new Ajv({ strict: false, allErrors: true, coerceTypes: true });
  const addFormats = addFormatsModule as unknown as (a: Ajv) => Ajv;
  addFormats(ajv);
  addFormats(ajvParams);
  for (const a of [ajv, ajvParams]) a.addSchema({ $id: "ghl-common", definitions: COMMON });
  const ops: Operation[] = [];
  for (const file of FILES) {
    const doc = JSON.parse(readFileSync(join(dir, `${file}.json`), "utf8"));
    const defs = adapt(file, doc.components?.schemas ?? {}) as Record<string, Record<string, unknown>>;
    patch(file, defs);
    for (const a of [ajv, ajvParams]) a.addSchema({ $id: `ghl-${file}`, definitions: defs });
    for (const [template, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const [method, o] of Object.entries(item)) {
        const paramNames: string[] = [];
        const pattern = trimSlash(template).replace(/\{(\w+)\}/g, (_m, n: string) => {
          paramNames.push(n);
          return "([^/]+)";
        });
        const params: Param[] = (o.parameters ?? []).map((p: any) => ({
          name: p.name,
          in: p.in,
          required: !!p.required,
          // Wrapped in an object so coerceTypes can turn "true"/"20" into the declared type.
          validate: ajvParams.compile({ type: "object", properties: { v: adapt(file, p.schema ?? {}) } }),
        }));
        const content = o.requestBody?.content ?? {};
        const contentType = Object.keys(content)[0];
        const bodySchema = contentType
          ? (adapt(file, content[contentType].schema) as Record<string, unknown>)
          : undefined;
        const responses = new Map<number, ValidateFunction | null>();
        for (const [code, r] of Object.entries(o.responses ?? {}) as [string, any][]) {
          const s = r.content?.["application/json"]?.schema;
          responses.set(Number(code), s ? ajv.compile(adapt(file, s) as object) : null);
        }
        const sec = (o.security ?? []) as Record<string, string[]>[];
        ops.push({
          file,
          method: method.toUpperCase(),
          template,
          operationId: o.operationId,
          regex: new RegExp(`^${pattern}$`),
          paramNames,
          params,
          responses,
          schemes: sec.flatMap((s) => Object.keys(s)),
          scopes: sec.flatMap((s) => Object.values(s).flat()),
          body:
            bodySchema && contentType
              ? {
                  contentType,
                  validate: ajv.compile(bodySchema),
                  schemaName: String(bodySchema.$ref ?? "")
                    .split("/")
                    .pop(),
                }
              : undefined,
        });
      }
    }
  }
  // Literal segments win over `{param}` ones (/conversations/search vs /conversations/{conversationId}).
  ops.sort((a, b) => a.paramNames.length - b.paramNames.length);
  const generic = ajv.compile({ $ref: "ghl-common#/definitions/GenericErrorDTO" });
  return {
    find(method, path) {
      const p = trimSlash(path);
      for (const op of ops) {
        if (op.method !== method.toUpperCase()) continue;
        const m = op.regex.exec(p);
        if (m)
          return { op, pathParams: Object.fromEntries(op.paramNames.map((n, i) => [n, decodeURIComponent(m[i + 1])])) };
      }
      return undefined;
    },
    validateBody(op, body) {
      if (!op.body) return [];
      return op.body.validate(body) ? [] : messages(op.body.validate.errors);
    },
    validateParams(op, where, values) {
      const out: string[] = [];
      for (const p of op.params.filter((x) => x.in === where)) {
        const key = where === "header" ? p.name.toLowerCase() : p.name;
        const v = values[key];
        if (v === undefined || v === "") {
          if (p.required) out.push(`${p.name} should not be empty`);
          continue;
        }
        if (!p.validate({ v }))
          out.push(`${p.name} ${where === "header" && p.name === "Version" ? "header is invalid" : "is invalid"}`);
      }
      return out;
    },
    validateResponse(op, status, body) {
      const declared = op?.responses.get(status);
      // A 2xx the file does not list is checked against the operation's declared 2xx schema.
      const fallback2xx =
        status < 300 && op ? [...op.responses.entries()].find(([c]) => c >= 200 && c < 300)?.[1] : undefined;
      const v = declared !== undefined ? declared : status >= 400 ? generic : (fallback2xx ?? null);
      if (v === null || v === undefined) return [];
      return v(body) ? [] : messages(v.errors);
    },
    schema(file, name) {
      return (
        ajv.getSchema(`ghl-${file}#/definitions/${name}`) ?? ajv.compile({ $ref: `ghl-${file}#/definitions/${name}` })
      );
    },
  };
}

// Turns a fragment of the reference into a schema ajv compiles: refs made absolute, odd types dropped.
function adapt(file: string, node: unknown): unknown {
  if (Array.isArray(node)) return node.map((n) => adapt(file, n));
  if (!node || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
    if (k === "$ref" && typeof v === "string") {
      const name = v.split("/").pop();
      out.$ref = v.startsWith("../common/") ? `ghl-common#/definitions/${name}` : `ghl-${file}#/definitions/${name}`;
    } else if (k === "type" && typeof v === "string" && !JSON_TYPES.has(v)) {
      continue;
    } else if (k === "example" || k === "examples") {
      continue;
    } else {
      out[k] = adapt(file, v);
    }
  }
  return out;
}

function patch(file: string, defs: Record<string, Record<string, any>>): void {
  if (file === "conversations") {
    defs.ProcessMessageBodyDto.properties.direction = { type: "string", enum: ["inbound", "outbound"] };
    defs.UploadFilesDto.required = (defs.UploadFilesDto.required as string[]).filter((r) => r !== "attachmentUrls");
  }
  if (file === "contacts") {
    defs.UpsertContactDto.properties.dateOfBirth = { type: ["object", "string"], nullable: true };
  }
}

// class-validator style messages, as GHL's NestJS services put in their 422 answers.
function messages(errors: ErrorObject[] | null | undefined): string[] {
  return (errors ?? []).map((e) => {
    const field = e.instancePath.replace(/^\//, "").replace(/\//g, ".");
    if (e.keyword === "required")
      return `${[field, e.params.missingProperty].filter(Boolean).join(".")} should not be empty`;
    if (e.keyword === "enum")
      return `${field} must be one of the following values: ${(e.params.allowedValues as string[]).join(", ")}`;
    if (e.keyword === "type") return `${field || "body"} must be a ${e.params.type}`;
    return `${field || "body"} ${e.message ?? "is invalid"}`;
  });
}

function trimSlash(p: string): string {
  return p.length > 1 ? p.replace(/\/+$/, "") : p;
}
