import { ensureContact } from "./contacts-routes";
import { ensureConversation } from "./conversations-routes";
import { ghlId } from "./ids";
import type { Sim } from "./sim";
import { type Message, nowIso } from "./state";

export interface OutboundInput {
  /** to a phone (a contact is created when none has it), or to an existing contact by id (it may have no phone) */
  phone?: string;
  contactId?: string;
  message: string;
  attachments?: string[];
  contactName?: string;
  userId?: string | null;
}

// A GHL user (or workflow, when userId is null) sends a message through the app's provider:
// GHL stores it, then POSTs the ProviderOutboundMessage payload to the Delivery URL, signed; the
// answer returned is the first attempt's.
export async function deliverOutbound(sim: Sim, locationId: string, input: OutboundInput) {
  const s = sim.state;
  const contact = input.contactId
    ? s.contacts.get(input.contactId)!
    : ensureContact(s, locationId, input.phone!, input.contactName);
  const conv = ensureConversation(s, locationId, contact.id);
  const messageId = ghlId();
  const custom = sim.cfg.providerMode === "custom";
  const userId = input.userId === null ? undefined : (input.userId ?? s.adminOf(locationId)?.id);
  const payload = {
    contactId: contact.id,
    locationId,
    messageId,
    conversationId: conv.id,
    type: custom ? "Custom" : "SMS",
    // a contact without a phone: GHL has none to send
    ...(contact.phone ? { phone: contact.phone } : {}),
    message: input.message,
    attachments: input.attachments ?? [],
    ...(custom ? { conversationProviderId: sim.cfg.conversationProviderId } : {}),
    ...(userId ? { userId } : {}),
  };
  const at = nowIso();
  const msg: Message = {
    id: messageId,
    locationId,
    contactId: contact.id,
    conversationId: conv.id,
    direction: "outbound" as const,
    type: payload.type,
    body: input.message,
    attachments: payload.attachments,
    status: "pending",
    statuses: [],
    createdAt: at,
    userId,
    source: "delivery" as const,
    deliveredToAppAt: Date.now(),
  };
  s.messages.set(messageId, msg);
  Object.assign(conv, {
    lastMessageBody: input.message,
    lastMessageDate: at,
    dateUpdated: at,
    lastMessageDirection: "outbound",
  });
  // GHL's webhook rule holds for the Delivery URL too: a 429 is resent (the same payload and
  // messageId, signed again) on GHL's schedule, anything else is final. Every attempt is recorded
  // (GET /__sandbox/messages/{id} → delivery.attempts, GET /__sandbox/deliveries).
  msg.delivery = { payload, at: nowIso(), attempts: [], done: false };
  const r = await sim.webhooks.attempt(msg.delivery, sim.cfg.deliveryUrl, payload);
  return {
    messageId,
    contactId: contact.id,
    conversationId: conv.id,
    deliveryStatus: r.status,
    // Real GHL only routes through the provider of an installed app; the sandbox sends anyway and says so.
    appInstalled: s.locationInstalls.has(locationId),
    ...(r.error ? { deliveryError: r.error } : {}),
  };
}
