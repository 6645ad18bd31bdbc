// How a WhatsApp group and its members read in GHL: the group is one GHL contact named
// `Group: <subject>`, and each message a member writes is prefixed with who wrote it
// (docs/decisions/021-groups-as-ghl-contacts.md).

/** What a group's contact is called before its subject is known (the metadata query failed). */
export const UNNAMED_GROUP = "Group: WhatsApp group";

export function groupContactName(subject: string | null | undefined): string | null {
  const s = subject?.trim();
  return s ? `Group: ${s}` : null;
}

/** The member's push name, else its phone number (E.164), else a neutral word: never a LID. */
export function memberName(pushName: string | null | undefined, phone: string | null | undefined): string {
  const name = pushName?.trim();
  if (name) return name;
  const digits = phone?.split("@")[0].split(":")[0].replace(/\D/g, "");
  return digits ? `+${digits}` : "A member";
}

/** A member's message as GHL shows it: `Ana: hello`; an attachment without caption, `Ana: [image]`. */
export function groupLine(member: string, text: string | null, type: string): string {
  const body = text?.trim() ? text : `[${type}]`;
  return `${member}: ${body}`;
}
