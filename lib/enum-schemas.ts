import { z } from "zod";
import { DesiredState, InstanceStatus, MessageDirection, MessageSource, MessageStatus } from "./generated/prisma/enums";

// The zod enums of the database's enums, derived from what `npm run generate` makes of
// prisma/schema.prisma: a status is spelled in the schema only, and an API, a query or the panel
// that lists them follows. Safe in the browser: lib/generated/prisma/enums.ts is plain constants
// (no client, no driver), and so is this file (tested by lib/client-imports.test.ts).
export const instanceStatusSchema = z.enum(InstanceStatus);
export type InstanceStatusValue = z.infer<typeof instanceStatusSchema>;

export const desiredStateSchema = z.enum(DesiredState);
export type DesiredStateValue = z.infer<typeof desiredStateSchema>;

export const messageStatusSchema = z.enum(MessageStatus);
export type MessageStatusValue = z.infer<typeof messageStatusSchema>;

export const messageDirectionSchema = z.enum(MessageDirection);
export type MessageDirectionValue = z.infer<typeof messageDirectionSchema>;

export const messageSourceSchema = z.enum(MessageSource);
export type MessageSourceValue = z.infer<typeof messageSourceSchema>;

/** Every message status, in the schema's order (the panel's filter lists them). */
export const MESSAGE_STATUSES = messageStatusSchema.options;
