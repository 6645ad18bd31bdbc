import { headers } from "next/headers";
import { messagesFor, pickLocale, type Locale, type Messages } from "./messages";

/** Locale of the current server render (Server Components only). */
export async function requestMessages(override?: string | null): Promise<{ locale: Locale; t: Messages }> {
  const locale = pickLocale((await headers()).get("accept-language"), override);
  return { locale, t: messagesFor(locale) };
}
