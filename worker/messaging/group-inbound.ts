import { groupContactName, groupLine, memberName } from "@/lib/groups/group-names";

// What a group message needs beyond a 1:1 one: the group's subject (its GHL contact's name) and
// the member's name for the prefix. The subject is asked of WhatsApp (rc14's groupMetadata, a
// `w:g2` query) at most once per group and number every SUBJECT_TTL_MS, never blocking a store
// for long: unknown, the contact keeps its name (docs/decisions/021-groups-as-ghl-contacts.md).
export type GroupSocket = {
  groupMetadata?: (jid: string) => Promise<{ subject?: string | null }>;
  signalRepository?: { lidMapping?: { getPNForLID(lid: string): Promise<string | null> } };
};

const SUBJECT_TTL_MS = 10 * 60_000;
const METADATA_TIMEOUT_MS = 5_000;
const MAX_CACHED = 5_000;
const subjects = new Map<string, { name: string | null; at: number }>();

/** `Group: <subject>` for the group's contact, or null when WhatsApp did not say. */
export async function groupName(sock: GroupSocket, instanceId: string, groupJid: string): Promise<string | null> {
  const key = `${instanceId}\n${groupJid}`;
  const hit = subjects.get(key);
  if (hit && Date.now() - hit.at < SUBJECT_TTL_MS) return hit.name;
  const name = await withTimeout(sock.groupMetadata?.(groupJid), METADATA_TIMEOUT_MS)
    .then((m) => groupContactName(m?.subject))
    .catch(() => null);
  // a failed query is asked again next time; a known name is kept for the TTL
  if (name !== null) {
    subjects.delete(key);
    subjects.set(key, { name, at: Date.now() });
    if (subjects.size > MAX_CACHED) subjects.delete(subjects.keys().next().value!);
  }
  return name ?? hit?.name ?? null;
}

/** The member's line as GHL shows it: its push name, else its phone (from the LID mapping if need be). */
export async function memberLine(
  sock: GroupSocket,
  member: { memberPn: string | null; memberLid: string | null },
  pushName: string | null,
  text: string | null,
  type: string,
): Promise<string> {
  let pn = member.memberPn;
  if (!pn && !pushName?.trim() && member.memberLid)
    pn = (await sock.signalRepository?.lidMapping?.getPNForLID(member.memberLid).catch(() => null)) ?? null;
  return groupLine(memberName(pushName, pn), text, type);
}

function withTimeout<T>(p: Promise<T> | undefined, ms: number): Promise<T | undefined> {
  if (!p) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => resolve(undefined), ms);
    t.unref?.();
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
