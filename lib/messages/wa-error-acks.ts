// What an error ack from WhatsApp means for a message we sent, in words a person can act on.
// WhatsApp answers such a message with `<ack error="code">` after the bytes left; Baileys rc14
// reports it as status 0 (ERROR) with the code as `messageStubParameters[0]`
// (docs/whatsapp.md, "Error acks"). Rule: no error ack is retried automatically. A message
// WhatsApp refused would be refused again, and for 463 every retry counts as one more attempt to
// start a chat, which deepens a restriction; the person sees why in GHL and in the panel and
// decides (resend later, from another number, or after the contact writes first).

const REASONS: Record<string, string> = {
  "463":
    "WhatsApp refused this number starting a chat with this contact now (error 463): the number may be restricted, or the contact has not written to it. Not retried; a reply works once the contact writes first.",
  "479": "WhatsApp rejected the message (error 479: the device session was out of date). Not retried; send it again.",
  "421": "WhatsApp refused the message (error 421: the recipient cannot receive it). Not retried.",
};

export function waErrorReason(code: string | undefined): string {
  if (code && REASONS[code]) return REASONS[code];
  return code
    ? `WhatsApp refused the message (error ${code}). Not retried.`
    : "WhatsApp reported an error for this message. Not retried.";
}
