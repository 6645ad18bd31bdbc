import { deliveryHandler } from "./delivery-handler";

export const dynamic = "force-dynamic";

// POST /api/ghl/delivery — GHL's conversation provider Delivery URL: signed calls only.
export const POST = deliveryHandler(() => undefined);
