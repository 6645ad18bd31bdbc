import { z } from "zod";
import { instanceSettingsPatchSchema, instanceSettingsSchema } from "../instances/instance-settings";
import { tagRoutesBodySchema } from "../routing/tag-routes";
import { historyImportPatchSchema, historyImportViewSchema } from "./history-api";
import { instanceActionSchema, pairingBodySchema } from "./instance-actions";
import { createInstanceSchema, instanceViewSchema } from "./instances-api";
import { messageResponseSchema, outboundWebhookSchema, queuedResponseSchema, sendBodySchema } from "./schemas";

// OpenAPI 3.1 for the direct API, generated from the same zod schemas the handlers parse with.
// Endpoints register here; a contract test checks each one against the route files.
type Op = {
  method: "get" | "post" | "put" | "patch" | "delete";
  path: string;
  summary: string;
  body?: z.ZodType;
  response?: { status: number; schema?: z.ZodType; description: string };
  params?: string[];
  tag: string;
};

const json = (s: z.ZodType, io: "input" | "output") => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { io, unrepresentable: "any" }) as Record<string, unknown>;
  return rest;
};

export const errorSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    requestId: z.string().optional(),
    fields: z.record(z.string(), z.array(z.string())).optional(),
  }),
});

const ops: Op[] = [];
export function registerOp(op: Op) {
  if (!ops.some((o) => o.method === op.method && o.path === op.path)) ops.push(op);
}

registerOp({
  method: "post",
  path: "/api/send",
  tag: "Messages",
  summary: "Queue a WhatsApp message from one of the location's numbers",
  body: sendBodySchema,
  response: { status: 202, schema: queuedResponseSchema, description: "Queued" },
});
registerOp({
  method: "get",
  path: "/api/messages/{id}",
  tag: "Messages",
  summary: "A message and its status",
  params: ["id"],
  response: { status: 200, schema: messageResponseSchema, description: "The message" },
});
registerOp({
  method: "post",
  path: "/api/ghl/outbound",
  tag: "GHL workflows",
  summary: "Send from a GHL workflow custom webhook ({{contact.phone}}, message)",
  body: outboundWebhookSchema,
  response: { status: 202, schema: queuedResponseSchema, description: "Queued" },
});
registerOp({
  method: "post",
  path: "/api/ghl/inbound-test",
  tag: "GHL workflows",
  summary: "Local receiver that records what it is sent (testing without GHL)",
  body: z.record(z.string(), z.unknown()),
  response: { status: 201, description: "Recorded" },
});
registerOp({
  method: "get",
  path: "/api/ghl/inbound-test",
  tag: "GHL workflows",
  summary: "The last 50 bodies the local receiver recorded",
  response: { status: 200, description: "Recorded bodies" },
});

const instanceResult = z.object({ ok: z.literal(true), instance: instanceViewSchema });
registerOp({
  method: "post",
  path: "/api/instances",
  tag: "Numbers",
  summary:
    "Create a number (201; 409 past the location's MAX_INSTANCES_PER_LOCATION) or reinitialise an existing one (200); forceNew + confirm discards its session",
  body: createInstanceSchema,
  response: {
    status: 201,
    schema: instanceResult.extend({ created: z.boolean() }),
    description: "Created or reinitialised",
  },
});
registerOp({
  method: "get",
  path: "/api/instances",
  tag: "Numbers",
  summary: "The location's numbers with their status and health (healthy, at_risk, restricted, with reasons)",
  response: { status: 200, schema: z.object({ instances: z.array(instanceViewSchema) }), description: "Numbers" },
});
registerOp({
  method: "get",
  path: "/api/wa/qr/{instanceId}",
  tag: "Numbers",
  summary:
    "Current QR (string and PNG data URL) or the connected state; never starts a number (a stopped one is 409: POST /api/instances/{id}/start first)",
  params: ["instanceId"],
  response: { status: 200, description: "QR or connected state" },
});
registerOp({
  method: "post",
  path: "/api/wa/reconnect/{instanceId}",
  tag: "Numbers",
  summary: "Restart the socket with the stored session (no new QR)",
  params: ["instanceId"],
  response: { status: 200, schema: instanceResult, description: "Restarting" },
});
registerOp({
  method: "post",
  path: "/api/wa/clear/{instanceId}",
  tag: "Numbers",
  summary: "Log out and wipe the session; a new QR follows",
  params: ["instanceId"],
  response: { status: 200, schema: instanceResult, description: "Cleared" },
});

registerOp({
  method: "get",
  path: "/api/instances/{id}",
  tag: "Numbers",
  summary: "One number by id",
  params: ["id"],
  response: { status: 200, schema: z.object({ instance: instanceViewSchema }), description: "The number" },
});
registerOp({
  method: "delete",
  path: "/api/instances/{id}",
  tag: "Numbers",
  summary: "Log out and delete a number (its messages are kept)",
  params: ["id"],
  response: { status: 200, description: "Deleted" },
});
registerOp({
  method: "post",
  path: "/api/instances/{id}/{action}",
  tag: "Numbers",
  summary: `Act on a number: ${instanceActionSchema.options.join(", ")} (pairing-code takes {phone})`,
  params: ["id", "action"],
  body: pairingBodySchema.partial(),
  response: { status: 200, schema: instanceResult, description: "Done" },
});
const instanceSettingsResult = z.object({ settings: instanceSettingsSchema });
registerOp({
  method: "get",
  path: "/api/instances/{id}/settings",
  tag: "Numbers",
  summary: "One number's options: groups (relay its WhatsApp groups to GHL, one conversation per group)",
  params: ["id"],
  response: { status: 200, schema: instanceSettingsResult, description: "The number's settings" },
});
registerOp({
  method: "patch",
  path: "/api/instances/{id}/settings",
  tag: "Numbers",
  summary: "Change one number's options (admins); keys left out keep their value",
  params: ["id"],
  body: instanceSettingsPatchSchema,
  response: { status: 200, schema: instanceSettingsResult, description: "The number's settings after the change" },
});
registerOp({
  method: "get",
  path: "/api/instances/{id}/history",
  tag: "Numbers",
  summary:
    "The number's import of past conversations: the setting (days, 0 = off) and progress (chats and messages done of total)",
  params: ["id"],
  response: { status: 200, schema: historyImportViewSchema, description: "Setting and progress" },
});
registerOp({
  method: "put",
  path: "/api/instances/{id}/history",
  tag: "Numbers",
  summary: "How many days of past conversations are imported into GHL when the number is linked (0: off; admins)",
  params: ["id"],
  body: historyImportPatchSchema,
  response: { status: 200, schema: historyImportViewSchema, description: "Saved" },
});
registerOp({
  method: "delete",
  path: "/api/instances/{id}/history",
  tag: "Numbers",
  summary: "Cancel the number's running import (admins); what is not posted yet never is",
  params: ["id"],
  response: {
    status: 200,
    schema: historyImportViewSchema.extend({ cancelled: z.boolean() }),
    description: "Cancelled, or nothing was running",
  },
});
registerOp({
  method: "get",
  path: "/api/instances/{id}/events",
  tag: "Live events",
  summary: "Server-sent events of one number: instance.status, instance.qr, instance.pairing-code",
  params: ["id"],
  response: { status: 200, description: "text/event-stream" },
});
const alertSchema = z.object({
  id: z.string(),
  number: z.string(),
  status: z.string(),
  reason: z.string(),
  createdAt: z.string(),
});
registerOp({
  method: "get",
  path: "/api/panel/alerts",
  tag: "Numbers",
  summary:
    "Alerts about the location's numbers not yet acknowledged (disconnected past the grace, logged out, banned, restricted), newest first",
  response: { status: 200, schema: z.object({ alerts: z.array(alertSchema) }), description: "Open alerts" },
});
registerOp({
  method: "post",
  path: "/api/panel/alerts/{id}/acknowledge",
  tag: "Numbers",
  summary: "Acknowledge an alert (admin): the panel's banner stops showing it",
  params: ["id"],
  response: { status: 200, description: "Acknowledged" },
});
registerOp({
  method: "get",
  path: "/api/panel/tag-routes",
  tag: "Routing",
  summary: "The location's tag → number table: contacts with a GHL tag of the table are written to from its number",
  response: { status: 200, schema: tagRoutesBodySchema, description: "The table" },
});
registerOp({
  method: "put",
  path: "/api/panel/tag-routes",
  tag: "Routing",
  summary: "Replace the tag → number table (admins; every number must be the location's, each tag once)",
  body: tagRoutesBodySchema,
  response: { status: 200, schema: tagRoutesBodySchema, description: "The table as stored" },
});
registerOp({
  method: "get",
  path: "/api/events",
  tag: "Live events",
  summary: "Server-sent events of every number of the location",
  response: { status: 200, description: "text/event-stream" },
});

export function openApiDocument(serverUrl: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of ops) {
    const responses: Record<string, unknown> = {
      [op.response?.status ?? 200]: {
        description: op.response?.description ?? "OK",
        ...(op.response?.schema
          ? { content: { "application/json": { schema: json(op.response.schema, "output") } } }
          : {}),
      },
      "401": {
        description: "Missing or invalid API key",
        content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
      },
      ...(op.body
        ? {
            "400": {
              description: "Invalid body (field errors in error.fields)",
              content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
            },
          }
        : {}),
      ...(op.body
        ? {
            "415": {
              description: "The body was not sent as content-type: application/json",
              content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
            },
          }
        : {}),
      "429": {
        description: "Rate limited (per API key and per location); retry after Retry-After seconds",
        headers: { "Retry-After": { schema: { type: "integer" } } },
        content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
      },
      ...(op.params?.length
        ? {
            "404": {
              description: "Not found in this location",
              content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
            },
          }
        : {}),
    };
    (paths[op.path] ??= {})[op.method] = {
      tags: [op.tag],
      summary: op.summary,
      operationId: `${op.method}${op.path.replace(/[^a-zA-Z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ""))}`,
      security: [{ apiKey: [] }, { bearer: [] }],
      ...(op.params?.length
        ? { parameters: op.params.map((name) => ({ name, in: "path", required: true, schema: { type: "string" } })) }
        : {}),
      ...(op.body
        ? { requestBody: { required: true, content: { "application/json": { schema: json(op.body, "input") } } } }
        : {}),
      responses,
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "WhatsApp Gateway for GoHighLevel — direct API",
      version: "1.0.0",
      description:
        "Every call needs a location API key (panel → API keys) as `x-api-key` or `Authorization: Bearer`. Errors: `{error: {code, message}}`.",
    },
    servers: [{ url: serverUrl }],
    components: {
      securitySchemes: {
        apiKey: { type: "apiKey", in: "header", name: "x-api-key" },
        bearer: { type: "http", scheme: "bearer" },
      },
      schemas: { Error: json(errorSchema, "output") },
    },
    paths,
  };
}

export function documentedOps() {
  return ops.map((o) => ({ method: o.method, path: o.path }));
}
