import { type BaileysEventMap, proto, toNumber, type WASocket } from "@whiskeysockets/baileys";
import { learnLidMapping } from "@/lib/contacts/lid-contacts";
import { applyHistoryNames, noteHistoryChunk } from "@/lib/history/history-sync";
import { readInstanceSettings } from "@/lib/instances/instance-settings";
import { type InboundDeps, storeHistoryMessage } from "./inbound-handler";

// WhatsApp's history sync as the worker takes it (docs/whatsapp.md#history-sync): Baileys has
// already stored the notification's LID mappings and privacy tokens in the number's key store
// (sealed in WaKey, like every key); here each `messaging-history.set` is handled on its own, in
// arrival order, and dropped: the contacts' LID↔phone links and names, then — when the number
// imports its past — its messages as history rows for the history import (worker/jobs/history-import.ts).
type History = BaileysEventMap["messaging-history.set"];
type Ctx = { instanceId: string; locationId: string };

/** A listener for one socket's history events, handling them one at a time. */
export function historyListener(
  d: InboundDeps,
  ctx: Ctx,
  sock: WASocket,
  groupsOn: () => Promise<boolean>,
): (h: History) => void {
  let chain: Promise<void> = Promise.resolve();
  return (h) => {
    chain = chain
      .then(() => handleHistory(d, ctx, sock, h, groupsOn))
      .catch((err) => d.log.warn({ err, ...ctx, syncType: h.syncType }, "history sync notification not fully applied"));
  };
}

async function handleHistory(
  d: InboundDeps,
  ctx: Ctx,
  sock: WASocket,
  h: History,
  groupsOn: () => Promise<boolean>,
): Promise<void> {
  for (const m of mappingsOf(h)) {
    const c = await learnLidMapping(d.db, ctx.locationId, m);
    if (c) await d.notifyGhl({ kind: "contact", locationId: ctx.locationId, ...c });
  }
  const settings = await readInstanceSettings(d.db, ctx.locationId, ctx.instanceId);
  let stored = 0;
  if (settings.historyImportDays > 0 && h.messages.length) {
    const since = Date.now() / 1000 - settings.historyImportDays * 86_400;
    const groups = await groupsOn().catch(() => false);
    // WhatsApp lists a chat's messages newest first: stored oldest first, so arrival order (seq) agrees
    const at = (m: (typeof h.messages)[number]) => toNumber(m.messageTimestamp ?? 0);
    const inWindow = h.messages.filter((m) => at(m) >= since).sort((a, b) => at(a) - at(b));
    for (const m of inWindow) {
      if (await storeHistoryMessage(d, { ...ctx, groups, sock: sock as never }, m)) stored++;
    }
  }
  const names = h.contacts.flatMap((c) => {
    const name = c.notify ?? c.name;
    return c.id && name ? [{ jid: c.id, name }] : [];
  });
  if (names.length) await applyHistoryNames(d.db, ctx.locationId, names);
  const complete = h.syncType === proto.HistorySync.HistorySyncType.RECENT && h.progress === 100;
  await noteHistoryChunk(d.db, ctx, { stored, complete, days: settings.historyImportDays });
  d.log.info(
    { ...ctx, syncType: h.syncType, progress: h.progress, messages: h.messages.length, stored },
    "history sync notification applied",
  );
}

/**
 * The notification's LID↔phone pairs, and those its chats name: rc14 drops `lidPnMappings` from a
 * notification it held in its event buffer (the first one, during its initial sync), but keeps
 * each chat's contact with `lid` and `phoneNumber`.
 */
function mappingsOf(h: History): { lid: string; pn: string }[] {
  const out = new Map<string, string>();
  for (const m of h.lidPnMappings ?? []) out.set(m.lid, m.pn);
  for (const c of h.contacts) {
    if (c.id?.endsWith("@s.whatsapp.net") && c.lid?.endsWith("@lid")) out.set(c.lid, c.id);
    else if (c.id?.endsWith("@lid") && c.phoneNumber?.endsWith("@s.whatsapp.net")) out.set(c.id, c.phoneNumber);
  }
  return [...out].map(([lid, pn]) => ({ lid, pn }));
}
