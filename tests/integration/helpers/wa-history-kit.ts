import type { Redis } from "ioredis";
import { waitForGhlSlot } from "@/lib/ghl/rate-window";
import type { GhlCall } from "@/lib/messages/ghl-post";
import type { GhlSimulator } from "@/sandbox/ghl/server";
import { control, install, startSim } from "@/sandbox/ghl/test-kit";
import { ghlCaller } from "./ghl-serial-queue";

// Shared by the history tests: a phone's past chats as the simulator takes them, and a GHL
// caller on the GHL simulator paced like the real client (the location's shared window).

export type HistoryChat = { with: string; messages: { fromMe: boolean; text: string; at: string }[] };

/** `chats` chats of `perChat` messages each, inside the last `days` days, alternating directions, oldest first. */
export function pastChats(contacts: string[], perChat: number, days: number, now = Date.now()): HistoryChat[] {
  return contacts.map((c, i) => ({
    with: c,
    messages: Array.from({ length: perChat }, (_, j) => ({
      fromMe: (i + j) % 3 === 0,
      text: `chat ${i} message ${j}`,
      // spread over the window, never in the future, whole seconds (WhatsApp's timestamps)
      at: new Date(
        Math.floor(
          (now -
            (days - 1) * 86_400_000 +
            (i * perChat + j) * (((days - 2) * 86_400_000) / (contacts.length * perChat))) /
            1000,
        ) * 1000,
      ).toISOString(),
    })),
  }));
}

export async function ghlSimFor(locationId: string, redis: Redis): Promise<{ sim: GhlSimulator; ghl: GhlCall }> {
  const sim = await startSim({ conversationProviderId: "prov-1" });
  const { tokens } = await install(sim, { locationId });
  const token = tokens.body.access_token as string;
  const ghl = ghlCaller(sim.url, token, () => waitForGhlSlot(redis, `location:${locationId}`));
  return { sim, ghl };
}

export type GhlConversation = {
  id: string;
  contact: { id: string; phone?: string; name?: string };
  messages: { body: string; direction: string; dateAdded: string; altId?: string; attachments?: string[] }[];
};

export async function ghlConversations(sim: GhlSimulator, locationId: string): Promise<GhlConversation[]> {
  return (await control(sim, "GET", `/locations/${locationId}/conversations`)).body.conversations;
}

export async function ghlContacts(
  sim: GhlSimulator,
  locationId: string,
): Promise<{ id: string; phone?: string; name?: string }[]> {
  return (await control(sim, "GET", `/locations/${locationId}/contacts`)).body.contacts;
}
