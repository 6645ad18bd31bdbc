// Liveness: the process answers. Dependencies are /api/ready's business.
export const dynamic = "force-dynamic";

export function GET() {
  return Response.json({ ok: true, service: "app", time: new Date().toISOString() });
}
