import { z } from "zod";

// GHL's Conversation Provider outbound payload (docs/ProviderOutboundMessage.md). Only what the
// WhatsApp channel needs is required; everything else is tolerated (GHL adds fields over time).
export const deliveryPayloadSchema = z
  .object({
    contactId: z.string().min(1).max(64),
    locationId: z.string().min(1).max(64),
    messageId: z.string().min(1).max(128),
    type: z.string().min(1),
    phone: z.string().min(3).max(40).optional(),
    message: z.string().max(65_536).optional().default(""),
    attachments: z.array(z.string().url().max(2048)).max(10).optional().default([]),
    userId: z.string().optional(),
    conversationId: z.string().optional(),
    conversationProviderId: z.string().optional(),
    replyToAltId: z.string().optional(),
  })
  .passthrough();

export type DeliveryPayload = z.infer<typeof deliveryPayloadSchema>;
