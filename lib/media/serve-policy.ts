// How a stored media file is served back (GET /api/media/…). The type and the file name come from
// whoever sent the WhatsApp message, so neither is trusted: a contact could send an HTML or SVG
// "document" that, served inline from our origin, would run script there (stored XSS).
//  - Inline only for types a browser renders without running anything: raster images, audio,
//    video. SVG is an image that runs script, so it is not one of them. PDF is downloaded too: a
//    viewer runs script embedded in it, and a sandboxed document may get no PDF viewer at all.
//  - Everything else is an attachment with a sanitised file name; a type that a browser could
//    treat as a page or a script is labelled application/octet-stream.
//  - Always `Content-Security-Policy: sandbox` (even if rendered, a document gets an opaque origin
//    and no script) and `X-Content-Type-Options: nosniff` (the label is the type, no guessing).

const INLINE = new Set([
  "image/png",
  "image/jpeg",
  "image/gif",
  "image/webp",
  "image/avif",
  "image/bmp",
  "image/heic",
  "image/heif",
  "audio/ogg",
  "audio/mpeg",
  "audio/mp4",
  "audio/aac",
  "audio/amr",
  "audio/wav",
  "audio/webm",
  "audio/opus",
  "audio/x-m4a",
  "video/mp4",
  "video/3gpp",
  "video/webm",
  "video/quicktime",
  "video/ogg",
]);

// html, xhtml, svg, xml, javascript, css, multipart and anything `text/*` but plain: what a browser may
// render as a page, run, or parse for markup
const ACTIVE = /^text\/(?!plain$)|^multipart\/|\/(x-)?(html|xhtml|xml|javascript|ecmascript|css)$|\+xml$/;

export type MediaHeaders = Record<
  "content-type" | "content-disposition" | "content-security-policy" | "x-content-type-options",
  string
>;

export function mediaResponseHeaders(declaredType: string, fileName: string): MediaHeaders {
  const type = essence(declaredType);
  const inline = type !== null && INLINE.has(type);
  const label = inline ? type : type && !ACTIVE.test(type) ? type : "application/octet-stream";
  return {
    "content-type": label,
    "content-disposition": contentDisposition(inline ? "inline" : "attachment", fileName),
    "content-security-policy": "sandbox",
    "x-content-type-options": "nosniff",
  };
}

/** `type/subtype` lower-cased without parameters, or null when it is not a well-formed MIME type. */
function essence(t: string): string | null {
  const m = /^\s*([a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+)\s*(;.*)?$/i.exec(t);
  return m ? m[1].toLowerCase() : null;
}

// RFC 6266: an ASCII `filename` for old clients, the exact name (sanitised) in `filename*`.
export function contentDisposition(kind: "inline" | "attachment", fileName: string): string {
  const safe = safeFileName(fileName);
  const ascii = safe.replace(/[^\x20-\x7e]/g, "_").replace(/["\\%;]/g, "_");
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(safe)}`;
}

/** No path, no control or quote characters, no leading dots, at most 150 characters; never empty. */
export function safeFileName(name: string): string {
  const base = name.split(/[/\\]/).pop() ?? "";
  const cleaned = base
    .replace(/[\u0000-\u001f\u007f-\u009f"<>:|?*]/g, "_")
    .replace(/^[.\s]+/, "")
    .trim();
  return [...cleaned].slice(0, 150).join("") || "file";
}
