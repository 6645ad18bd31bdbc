import { z } from "zod";
import type { Db } from "../db";
import { badRequest } from "../errors";
import { SEND_MESSAGE_ACTION_KEY } from "./send-message-action";

// The "Send WhatsApp message" action's Dynamic field: when a user configures the action in a
// workflow, GHL posts `{data, extras: {locationId, …}, meta}` here and builds the form from the
// answer `{inputs: [{section, fields: [...]}]}` (GHL Marketplace docs, "Field Type: Dynamic";
// docs/ghl.md#workflow-actions). The form offers the location's numbers to choose from.

const fieldsCallSchema = z.object({
  data: z.record(z.string(), z.unknown()).optional(),
  extras: z.object({ locationId: z.string().min(1).max(100) }),
  meta: z.object({ key: z.string().max(100) }).optional(),
});

export async function sendMessageFields(db: Db, raw: unknown) {
  const r = fieldsCallSchema.safeParse(raw);
  if (!r.success) throw badRequest("not a GHL dynamic fields call");
  if (r.data.meta?.key && r.data.meta.key !== SEND_MESSAGE_ACTION_KEY)
    throw badRequest(`unknown action key ${r.data.meta.key}`);
  const numbers = await db.instance.findMany({
    where: { locationId: r.data.extras.locationId, location: { installed: true } },
    orderBy: { name: "asc" },
    select: { name: true, phone: true, alias: true },
  });
  const label = (n: { name: string; phone: string | null; alias: string | null }) =>
    [n.name, n.alias, n.phone].filter(Boolean).join(" · ");
  return {
    inputs: [
      {
        section: "WhatsApp",
        fields: [
          {
            field: "number",
            title: "From number (empty: the contact's usual number)",
            fieldType: "select",
            required: false,
            options: numbers.map((n) => ({ label: label(n), value: n.name })),
          },
          { field: "phone", title: "To (phone with country code)", fieldType: "string", required: false },
          { field: "message", title: "Message", fieldType: "textarea", required: false },
          {
            field: "mediaUrl",
            title: "Media URL (image, video, audio or document)",
            fieldType: "string",
            required: false,
          },
        ],
      },
    ],
  };
}
