import type { AlertStatus } from "./alert-rules";

// What the `number.status` webhook and the GHL trigger "WhatsApp number status changed" carry: one
// shape for both, so an automation built on one reads the other (docs/ghl.md#workflow-triggers).
// It is also the trigger's sample payload registered in the Marketplace (docs/ghl.md).

/** The trigger's key in GHL's Marketplace (immutable once published). */
export const NUMBER_STATUS_TRIGGER_KEY = "whatsapp_number_status_changed";

export type NumberStatusPayload = {
  /** the number's name in the location (`wa-01`) */
  number: string;
  /** its phone in E.164, when known */
  phone: string | null;
  status: AlertStatus;
  reason: string;
  alertId: string;
  locationId: string;
  at: string;
};

export function numberStatusPayload(
  a: { id: string; locationId: string; status: string; reason: string; createdAt: Date },
  i: { name: string; phone: string | null },
): NumberStatusPayload {
  return {
    number: i.name,
    phone: i.phone,
    status: a.status as AlertStatus,
    reason: a.reason,
    alertId: a.id,
    locationId: a.locationId,
    at: a.createdAt.toISOString(),
  };
}
