import { deliveryHandler } from "../delivery-handler";

export const dynamic = "force-dynamic";

// POST /api/ghl/delivery/<locationId>.<secret> — one location's own Delivery URL (locationDeliveryUrl
// in lib/messages/delivery.ts): the payload must be for that location. Where
// GHL_DELIVERY_ALLOW_UNSIGNED is on (never in production), the only way in for an unsigned call.
export const POST = deliveryHandler((p) => p.token ?? "");
