import { headers } from "next/headers";
import { type Locale, type Messages, messagesFor, pickLocale } from "./messages";

/** Locale of the current server render (Server Components only). */
export async function requestMessages(override?: string | null): Promise<{ locale: Locale; t: Messages }> {
  const locale = pickLocale((await headers()).get("accept-language"), override);
  return { locale, t: messagesFor(locale) };
}
