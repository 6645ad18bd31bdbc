import { z } from "zod";
import { messageDirectionSchema, messageStatusSchema } from "../enum-schemas";

// Request and response shapes of the direct API (the Express ancestor's endpoints), shared by
// the route handlers and the OpenAPI document, so they are written once.
export const instanceIdSchema = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9_-]{0,31}$/,
    "must be 1-32 characters: lowercase letters, digits, '-' or '_', starting with a letter or digit",
  )
  .describe("The number's name within the location, e.g. wa-01");

const mediaTypes = ["image", "video", "audio", "document"] as const;

export const sendBodySchema = z
  .object({
    instanceId: instanceIdSchema,
    to: z
      .string()
      .min(3)
      .max(40)
      .describe("Recipient phone, E.164 (+15551234567) or national with the location's default country"),
    type: z.enum(["text", ...mediaTypes]).default("text"),
    message: z.string().max(65_536).optional().describe("Text (for type text), or the caption"),
    mediaUrl: z.string().url().max(2048).optional().describe("http(s) URL of the media (for media types)"),
    caption: z.string().max(4096).optional(),
  })
  .superRefine((b, ctx) => {
    if (b.type === "text" && !b.message?.trim())
      ctx.addIssue({ code: "custom", path: ["message"], message: "required when type is text" });
    if (b.type !== "text" && !b.mediaUrl)
      ctx.addIssue({ code: "custom", path: ["mediaUrl"], message: `required when type is ${b.type}` });
  });

export const outboundWebhookSchema = z
  .object({
    instanceId: instanceIdSchema.optional().describe("Which number sends; default: the contact's or the location's"),
    to: z.string().min(3).max(40).optional(),
    phone: z.string().min(3).max(40).optional().describe("Alias of `to` (GHL workflows send {{contact.phone}})"),
    message: z.string().max(65_536).default(""),
    type: z.enum(["text", ...mediaTypes]).optional(),
    mediaUrl: z.string().url().max(2048).optional(),
    contactId: z.string().max(64).optional().describe("GHL contact id, kept on the contact"),
  })
  .superRefine((b, ctx) => {
    if (!b.to && !b.phone) ctx.addIssue({ code: "custom", path: ["to"], message: "`to` or `phone` is required" });
    if (!b.message.trim() && !b.mediaUrl)
      ctx.addIssue({ code: "custom", path: ["message"], message: "`message` or `mediaUrl` is required" });
  });

export const queuedResponseSchema = z.object({
  ok: z.literal(true),
  messageId: z.string().describe("Id to poll with GET /api/messages/{id}"),
  status: z.string(),
  duplicate: z.boolean(),
});

export const messageResponseSchema = z.object({
  id: z.string(),
  direction: messageDirectionSchema,
  status: messageStatusSchema,
  error: z.string().nullable(),
  instanceId: z.string().nullable().describe("The number's name"),
  to: z.string().nullable(),
  type: z.string(),
  waMessageId: z.string().nullable(),
  createdAt: z.string(),
  sentAt: z.string().nullable(),
  deliveredAt: z.string().nullable(),
  readAt: z.string().nullable(),
});

export type SendBody = z.infer<typeof sendBodySchema>;
