import { readdirSync } from "node:fs";
import path from "node:path";
import fc from "fast-check";

// What the route fuzzer (tests/integration/route-fuzz.test.ts) needs beside its fixtures: the
// routes found on disk, and the arbitraries of malformed requests.

/** Methods the fuzzer calls; a route exporting any other function fails the discovery test. */
export const CALLABLE_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
/** Route segment config a route module may export besides its methods (Next's names). */
export const CONFIG_EXPORTS = new Set([
  "dynamic",
  "dynamicParams",
  "revalidate",
  "fetchCache",
  "runtime",
  "preferredRegion",
  "maxDuration",
]);

export type Segment =
  | { kind: "static"; value: string }
  | { kind: "param"; name: string }
  | { kind: "catchAll"; name: string; optional: boolean };
export type RouteFile = { file: string; route: string; segments: Segment[] };

/** Every `route.ts` under `root` (app/api), with its URL pattern, as Next maps folders to paths. */
export function discoverRoutes(appDir: string, under = "api"): RouteFile[] {
  const out: RouteFile[] = [];
  const walk = (dir: string, rel: string[]) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(dir, e.name), [...rel, e.name]);
      else if (/^route\.(ts|js|tsx|mjs)$/.test(e.name)) {
        const segments = rel.filter((s) => !/^\(.*\)$/.test(s)).map(segmentOf);
        out.push({
          file: path.join(dir, e.name),
          route: "/" + rel.filter((s) => !/^\(.*\)$/.test(s)).join("/"),
          segments,
        });
      }
    }
  };
  walk(path.join(appDir, under), [under]);
  return out.sort((a, b) => a.route.localeCompare(b.route));
}

function segmentOf(s: string): Segment {
  let m = /^\[\[\.\.\.(.+)\]\]$/.exec(s);
  if (m) return { kind: "catchAll", name: m[1], optional: true };
  m = /^\[\.\.\.(.+)\]$/.exec(s);
  if (m) return { kind: "catchAll", name: m[1], optional: false };
  m = /^\[(.+)\]$/.exec(s);
  if (m) return { kind: "param", name: m[1] };
  return { kind: "static", value: s };
}

/** The route's module exports: callable methods, and anything the fuzzer would not know how to call. */
export function classifyExports(mod: Record<string, unknown>): { methods: string[]; unknown: string[] } {
  const methods: string[] = [];
  const unknown: string[] = [];
  for (const [k, v] of Object.entries(mod)) {
    if ((CALLABLE_METHODS as readonly string[]).includes(k) && typeof v === "function") methods.push(k);
    else if (!CONFIG_EXPORTS.has(k) || typeof v === "function") unknown.push(k);
  }
  return { methods, unknown };
}

// ---- arbitraries ---------------------------------------------------------------------------------

export const NASTY_STRINGS = [
  "",
  " ",
  ".",
  "..",
  "../",
  "../..",
  "../../../../etc/passwd",
  "..%2f..%2fetc%2fpasswd",
  "%2e%2e%2f",
  "%00",
  "\u0000",
  "a\u0000b",
  "%",
  "%zz",
  "%E0%A4%A",
  "%ff%fe%fd",
  "%C0%AE%C0%AE",
  "\ud800",
  "\udfff",
  "x\ud83d",
  "💥",
  "\u202egnp.exe",
  "\uFEFF",
  "\u0007\u001b[31m",
  "null",
  "undefined",
  "NaN",
  "Infinity",
  "-1",
  "0",
  "1e309",
  "-0",
  "9".repeat(40),
  "[object Object]",
  "__proto__",
  "constructor",
  "prototype",
  "<script>alert(1)</script>",
  "' OR 1=1 --",
  '"; DROP TABLE "Message"; --',
  "${7*7}",
  "{{7*7}}",
  "\\",
  "//",
  "\t",
  "a\nb",
  "\r\nSet-Cookie: x=1",
  "wa-01",
  "WA-01",
  " wa-01 ",
  "wa-0001",
  "-wa",
  "a".repeat(33),
  "gwk_",
  "gwk_aaaaaaaa_" + "A".repeat(43),
  "+15557654321",
  "15557654321",
  "+",
  "+0",
  "+999999999999999999999",
  "http://127.0.0.1:9/x.png",
  "https://example.com/a.jpg",
  "http://169.254.169.254/latest/meta-data",
  "http://[::ffff:127.0.0.1]/",
  "file:///etc/passwd",
  "javascript:alert(1)",
  "data:text/html,<b>",
  "text",
  "image",
  "document",
  "audio",
  "video",
  "SMS",
  "Email",
  "Custom",
  "INSTALL",
  "UNINSTALL",
  "US",
  "BR",
  "xx",
  "sms",
  "custom",
  "-271821-04-20T00:00:00Z",
  "+275760-09-13T00:00:00.000Z",
  "0000-01-01",
  "2026-13-45",
  "QUEUED",
  "FAILED",
  "queued",
];

const overlong = fc
  .integer({ min: 200, max: 12_000 })
  .chain((n) => fc.constantFrom("a".repeat(n), "é".repeat(n), "%2e".repeat(n), "../".repeat(n), "\u0000".repeat(n)));

/** Strings that break parsers and queries: traversal, percent junk, control and odd unicode, overlong. */
export const junk: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 24 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary-ascii", maxLength: 60 }) },
  { weight: 1, arbitrary: overlong },
);

export const jsonLeaf: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 5, arbitrary: junk },
  { weight: 1, arbitrary: fc.integer() },
  {
    weight: 1,
    arbitrary: fc.constantFrom(0, -1, 1, 1.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, 10080, 10081, 30),
  },
  { weight: 1, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
);

export const jsonValue: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    jsonLeaf,
    fc.array(tie("v"), { maxLength: 4 }),
    fc.dictionary(junk, tie("v"), { maxKeys: 4 }),
  ),
})).v;

/** Field names of every request schema (direct API, panel, Delivery URL, app webhooks), to reach past "unknown shape". */
export const FIELD_NAMES = [
  "instanceId",
  "to",
  "phone",
  "type",
  "message",
  "mediaUrl",
  "caption",
  "contactId",
  "phoneAlias",
  "forceNew",
  "confirm",
  "label",
  "url",
  "defaultCountry",
  "providerMode",
  "maxWaitMinutes",
  "typingSimulation",
  "locationId",
  "companyId",
  "messageId",
  "attachments",
  "userId",
  "conversationId",
  "conversationProviderId",
  "replyToAltId",
  "appId",
  "webhookId",
  "timestamp",
  "companyName",
  "csrfToken",
  "payload",
  "callbackUrl",
  "json",
  "data",
];

export function shapedBody(extra: Record<string, fc.Arbitrary<unknown>> = {}): fc.Arbitrary<Record<string, unknown>> {
  const fields: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of FIELD_NAMES)
    fields[f] = fc.oneof(jsonLeaf, jsonValue, ...(Object.hasOwn(extra, f) ? [extra[f], extra[f]] : []));
  return fc.record(fields, { requiredKeys: [] });
}

const deep = fc
  .tuple(fc.integer({ min: 500, max: 120_000 }), fc.constantFrom("[", '{"a":', '{"message":'))
  .map(([n, open]) => {
    const close = open === "[" ? "]" : "}";
    return open.repeat(n) + (open === "[" ? "" : "1") + close.repeat(n);
  });

/** A request body: absent, empty, malformed, random JSON, shaped JSON, deep, huge, or raw bytes. */
export type Body = { kind: string; bytes?: Uint8Array };
const utf8 = (s: string) => new Uint8Array(Buffer.from(s, "utf8"));

export function bodyArb(shaped: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<Body> {
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant<Body>({ kind: "none" }) },
    { weight: 1, arbitrary: fc.constant<Body>({ kind: "empty", bytes: new Uint8Array() }) },
    {
      weight: 2,
      arbitrary: fc
        .constantFrom(
          "{",
          "[",
          '{"a":',
          "nul",
          "{}}",
          "\uFEFF{}",
          "{'a':1}",
          "NaN",
          "1e999999",
          '"\\ud800"',
          '{"a":"\\u0000"}',
          '{"__proto__":{"x":1}}',
          '{"constructor":{"prototype":{"x":1}}}',
          "[]",
          "null",
          "0",
          '"str"',
          "true",
          '{"a":1,"a":2}',
          "{}garbage",
        )
        .map((s): Body => ({ kind: "malformed", bytes: utf8(s) })),
    },
    { weight: 2, arbitrary: jsonValue.map((v): Body => ({ kind: "json", bytes: utf8(JSON.stringify(v) ?? "null") })) },
    { weight: 6, arbitrary: shaped.map((v): Body => ({ kind: "shaped", bytes: utf8(JSON.stringify(v)) })) },
    { weight: 1, arbitrary: deep.map((s): Body => ({ kind: "deep", bytes: utf8(s) })) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(70_000, 1_100_000, 2_500_000).map(
        (n): Body => ({
          kind: "huge",
          bytes: utf8(JSON.stringify({ message: "x".repeat(n), label: "y".repeat(n), url: "z".repeat(n) })),
        }),
      ),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 3000 }).map((b): Body => ({ kind: "bytes", bytes: b })) },
  );
}

export const CONTENT_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  "APPLICATION/JSON",
  "application/json; charset=utf-16",
  "application/jsonx",
  "text/plain",
  "text/plain;charset=UTF-8",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=----x",
  "application/xml",
  "*/*",
  "",
  ";",
  "application/json;;;",
  "application/octet-stream",
];

/** Header values as a raw HTTP client could send them: bytes, seen by Node as latin1, no CR/LF/NUL. */
export function headerSafe(s: string): string {
  return Buffer.from(s, "utf8")
    .toString("latin1")
    .replace(/[\u0000-\u0008\u000a-\u001f\u007f]/g, "")
    .trim();
}

/** A query string: none, the route's own keys with junk values, repeated keys, raw junk. */
export function queryArb(knownKeys: string[], knownValues: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const keys = fc.constantFrom(
    ...knownKeys,
    "__proto__",
    "constructor",
    "x",
    "",
    "a[b]",
    "limit",
    "before",
    "status",
    "instanceId",
    "code",
    "state",
    "error",
  );
  const pair = fc.tuple(keys, fc.oneof(junk, knownValues)).map(([k, v]) => `${pct(k)}=${pct(v)}`);
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant("") },
    { weight: 4, arbitrary: fc.array(pair, { minLength: 1, maxLength: 5 }).map((p) => "?" + p.join("&")) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        "?",
        "?&&&",
        "?=",
        "?%",
        "?%zz=%zz",
        "?a=%E0%A4%A",
        "?limit=1e309",
        "?limit=-5",
        "?before=-271821-04-20T00:00:00Z",
        "?a=1&a=2&a=3",
        "?" + "a=b&".repeat(2000),
      ),
    },
  );
}

/** encodeURIComponent, also for lone surrogates (sent as the UTF-8 of U+FFFD, as a client would). */
export function pct(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return [...Buffer.from(s, "utf8")].map((b) => "%" + b.toString(16).padStart(2, "0")).join("");
  }
}
