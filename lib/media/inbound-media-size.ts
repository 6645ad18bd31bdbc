// How large an inbound WhatsApp attachment may be, what its sender says it is, and what GHL is
// told instead of a file that is too large. Pure: the download itself is encrypted-download.ts.

export const DEFAULT_MAX_INBOUND_MEDIA_BYTES = 100 * 1024 * 1024;

const MB = 1024 * 1024;

/**
 * The `fileLength` a media message announces, as a number of bytes, or null when it says nothing
 * usable. protobuf decodes uint64 as a Long (or, once the message went through JSON in the
 * inbound spool, a plain `{low, high}` or a string); anything else is "unknown", and an unknown
 * size is still capped while downloading.
 */
export function announcedBytes(fileLength: unknown): number | null {
  let n: number;
  if (typeof fileLength === "number") n = fileLength;
  else if (typeof fileLength === "bigint") n = Number(fileLength);
  else if (typeof fileLength === "string" && /^\d+$/.test(fileLength.trim())) n = Number(fileLength.trim());
  else if (fileLength && typeof fileLength === "object" && "low" in fileLength && "high" in fileLength) {
    const { low, high } = fileLength as { low: unknown; high: unknown };
    if (typeof low !== "number" || typeof high !== "number") return null;
    // unsigned reading: a sender may set the top bit, which only makes it larger
    n = (high >>> 0) * 2 ** 32 + (low >>> 0);
  } else return null;
  return Number.isFinite(n) && n >= 0 ? Math.floor(n) : null;
}

/** The announced size is over the limit: refuse before any byte is fetched. */
export function announcedTooLarge(fileLength: unknown, limit: number): boolean {
  const n = announcedBytes(fileLength);
  return n !== null && n > limit;
}

export type TooLargeMedia = {
  kind: "image" | "video" | "audio" | "document" | "sticker";
  /** a voice note (audio with ptt) */
  ptt?: boolean;
  /** the name the sender gave (documents); generated names are not worth repeating */
  fileName?: string | null;
  caption?: string | null;
  /** the size known to be true or announced; null when only "more than the limit" is known */
  bytes: number | null;
  limit: number;
};

/**
 * What reaches GHL in place of a file that was not imported, in plain words, e.g.
 * `[Document "report.pdf" (240 MB) not imported: larger than the 100 MB limit]`, followed by the
 * sender's caption on the next line.
 */
export function tooLargeNotice(m: TooLargeMedia): string {
  const what = m.kind === "audio" && m.ptt ? "Voice message" : LABELS[m.kind];
  const name = m.fileName ? cleanName(m.fileName) : "";
  const size = m.bytes !== null && m.bytes > m.limit ? ` (${formatBytes(m.bytes)})` : "";
  const line = `[${what}${name ? ` "${name}"` : ""}${size} not imported: larger than the ${formatBytes(m.limit)} limit]`;
  const caption = m.caption?.trim();
  return caption ? `${line}\n${caption}` : line;
}

/** The line in place of a file whose download URL points into a private or reserved network. */
export function refusedMediaNotice(m: Omit<TooLargeMedia, "bytes" | "limit">): string {
  const what = m.kind === "audio" && m.ptt ? "Voice message" : LABELS[m.kind];
  const name = m.fileName ? cleanName(m.fileName) : "";
  const line = `[${what}${name ? ` "${name}"` : ""} not imported: its download address is not a public one]`;
  const caption = m.caption?.trim();
  return caption ? `${line}\n${caption}` : line;
}

/** 1024-based, as the limit is: 100 MB, 2.5 MB, 1.2 GB, 800 KB. */
export function formatBytes(n: number): string {
  if (n >= 1024 * MB) return `${trim(n / (1024 * MB))} GB`;
  if (n >= MB) return `${n >= 10 * MB ? Math.round(n / MB) : trim(n / MB)} MB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KB`;
  return `${n} bytes`;
}

const LABELS: Record<TooLargeMedia["kind"], string> = {
  image: "Image",
  video: "Video",
  audio: "Audio",
  document: "Document",
  sticker: "Sticker",
};

function trim(x: number): string {
  return (Math.round(x * 10) / 10).toString();
}

/** One line, no quotes to break out of, not a novel. */
function cleanName(s: string): string {
  // control characters and line separators become spaces
  const one = s
    .replace(/[\u0000-\u001f\u007f\u2028\u2029"]/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  return one.length > 120 ? `${one.slice(0, 117)}...` : one;
}
