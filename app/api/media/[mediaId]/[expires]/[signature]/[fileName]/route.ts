import { db } from "@/lib/db";
import { AppError, notFound } from "@/lib/errors";
import { handle } from "@/lib/http/handler";
import { loadMedia } from "@/lib/media/media-store";
import { mediaResponseHeaders } from "@/lib/media/serve-policy";
import { verifyMediaPath } from "@/lib/media/signed-url";

// Public by design (GHL fetches attachments without credentials); the path's signature and
// expiry are the authorisation. No query string: GHL rejects attachment URLs that have one.
type P = { mediaId: string; expires: string; signature: string; fileName: string };

export const dynamic = "force-dynamic";

export const GET = handle<P>(async (_req, ctx) => {
  const p = await ctx.params;
  const check = verifyMediaPath(p.mediaId, p.expires, p.signature);
  if (!check.ok)
    throw check.reason === "expired"
      ? new AppError("link_expired", "this media link has expired")
      : new AppError("forbidden", "invalid media link");
  const media = await loadMedia(db(), check.mediaId);
  if (!media) throw notFound("media not found or expired");
  return new Response(new Uint8Array(media.data), {
    // the sender chose the type and the name: inline only for an allow-list, always sandboxed
    headers: {
      ...mediaResponseHeaders(media.mimetype, media.fileName),
      "content-length": String(media.size),
      "cache-control": "private, max-age=3600",
    },
  });
});
