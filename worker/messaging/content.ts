import type { FetchedMedia } from "@/lib/media/fetch-remote";

// Turns a fetched attachment into Baileys message content. The declared type (direct API) wins;
// otherwise the content type decides, and anything unknown goes as a document.
export type MediaKind = "image" | "video" | "audio" | "voice" | "document";

export function kindOf(declared: string, contentType: string): MediaKind {
  if (["image", "video", "audio", "document"].includes(declared)) return declared as MediaKind;
  if (/^image\/(jpeg|png|webp)$/.test(contentType)) return "image";
  if (/^video\/(mp4|3gpp)$/.test(contentType)) return "video";
  if (/^audio\/ogg/.test(contentType)) return "voice";
  if (/^audio\//.test(contentType)) return "audio";
  return "document";
}

export function buildContent(kind: MediaKind, m: FetchedMedia, caption: string | null): Record<string, unknown> {
  const cap = caption?.trim() ? { caption: caption.trim() } : {};
  switch (kind) {
    case "image":
      return { image: m.bytes, mimetype: m.contentType, ...cap };
    case "video":
      return { video: m.bytes, mimetype: m.contentType, ...cap };
    case "voice":
      return { audio: m.bytes, mimetype: "audio/ogg; codecs=opus", ptt: true };
    case "audio":
      return { audio: m.bytes, mimetype: m.contentType };
    default:
      return { document: m.bytes, mimetype: m.contentType, fileName: m.fileName, ...cap };
  }
}
