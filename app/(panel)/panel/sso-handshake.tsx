"use client";

import { useEffect, useState } from "react";
import { requestUserPayload, type SignInRefusal, signInWithPayload } from "./sso-client";

type Texts = Record<
  | "connecting"
  | "title"
  | "not_framed"
  | "not_installed"
  | "invalid_payload"
  | "no_location"
  | "timeout"
  | "expired"
  | "no_access"
  | "roles_unavailable",
  string
>;
type Failure = "not_framed" | SignInRefusal;

const HANDSHAKE_TIMEOUT_MS = 10_000;

// The panel's entry: the SSO handshake (sso-client.ts), then on to the panel itself.
// `allowedOrigins` is the frame-ancestors list: only the parent frame on one of them may answer.
export function SsoHandshake({
  texts,
  next,
  allowedOrigins,
}: {
  texts: Texts;
  next: string;
  allowedOrigins: string[];
}) {
  const [failure, setFailure] = useState<Failure | null>(null);

  useEffect(() => {
    if (window.parent === window) {
      setFailure("not_framed");
      return;
    }
    let cancelled = false;
    void (async () => {
      const payload = await requestUserPayload(HANDSHAKE_TIMEOUT_MS, allowedOrigins);
      if (cancelled) return;
      const refused = payload === null ? "timeout" : await signInWithPayload(payload, next);
      if (cancelled) return;
      if (refused) setFailure(refused);
      else window.location.replace(next);
    })();
    return () => {
      cancelled = true;
    };
  }, [next, allowedOrigins]);
  if (!failure)
    return (
      <p className="text-slate-500" role="status">
        {texts.connecting}
      </p>
    );
  return (
    <section role="alert" className="rounded border border-amber-300 bg-amber-50 p-4">
      <h1 className="font-semibold text-amber-900">{texts.title}</h1>
      <p className="mt-2 text-amber-900" data-reason={failure}>
        {texts[failure]}
      </p>
    </section>
  );
}
