"use client";

import { useEffect, useState } from "react";
import { handshakePayload } from "./handshake-answer";

type Texts = Record<"connecting" | "title" | "not_framed" | "not_installed" | "invalid_payload" | "no_location" | "timeout" | "expired", string>;
type Failure = Exclude<keyof Texts, "connecting" | "title">;

const HANDSHAKE_TIMEOUT_MS = 10_000;

// REQUEST_USER_DATA → REQUEST_USER_DATA_RESPONSE with GHL's encrypted payload → next-auth sign-in
// with the `ghl-sso` Credentials provider. The payload never leaves for anywhere but our server.
// `allowedOrigins` is the frame-ancestors list: only the parent frame on one of them may answer.
export function SsoHandshake({ texts, next, allowedOrigins }: { texts: Texts; next: string; allowedOrigins: string[] }) {
  const [failure, setFailure] = useState<Failure | null>(null);

  useEffect(() => {
    if (window.parent === window) {
      setFailure("not_framed");
      return;
    }
    let done = false;
    const timer = setTimeout(() => !done && setFailure("timeout"), HANDSHAKE_TIMEOUT_MS);
    const onMessage = async (ev: MessageEvent) => {
      // only the frame that embeds us, on an origin allowed to frame us, speaks for GHL
      const payload = handshakePayload(ev, window.parent, allowedOrigins);
      if (payload === null || done) return;
      done = true;
      clearTimeout(timer);
      setFailure(await signIn(payload));
    };
    window.addEventListener("message", onMessage);
    window.parent.postMessage({ message: "REQUEST_USER_DATA" }, "*");
    return () => {
      done = true;
      clearTimeout(timer);
      window.removeEventListener("message", onMessage);
    };

    async function signIn(payload: string): Promise<Failure | null> {
      try {
        const csrf = (await (await fetch("/api/auth/csrf", { credentials: "include" })).json()) as { csrfToken: string };
        const res = await fetch("/api/auth/callback/ghl-sso", {
          method: "POST",
          credentials: "include",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ csrfToken: csrf.csrfToken, payload, json: "true", callbackUrl: next }),
        });
        const body = (await res.json().catch(() => ({}))) as { url?: string };
        const error = body.url ? new URL(body.url, window.location.href).searchParams.get("error") : "invalid_payload";
        if (error) return (["not_installed", "no_location", "invalid_payload"] as string[]).includes(error) ? (error as Failure) : "invalid_payload";
        window.location.replace(next);
        return null;
      } catch {
        return "timeout";
      }
    }
  }, [next, allowedOrigins]);

  if (!failure) return <p className="text-slate-500" role="status">{texts.connecting}</p>;
  return (
    <section role="alert" className="rounded border border-amber-300 bg-amber-50 p-4">
      <h1 className="font-semibold text-amber-900">{texts.title}</h1>
      <p className="mt-2 text-amber-900" data-reason={failure}>{texts[failure]}</p>
    </section>
  );
}
