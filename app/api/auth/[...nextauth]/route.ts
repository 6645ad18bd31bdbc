import NextAuth from "next-auth";
import { authOptions } from "@/lib/auth/auth-options";
import { partitionCookies } from "@/lib/auth/partitioned-cookies";

export const dynamic = "force-dynamic";

type Ctx = { params: Promise<{ nextauth: string[] }> };

// next-auth's handler, built on first use (env() is not readable at build time), with its cookies
// marked Partitioned so they survive in GHL's third-party iframe.
let handler: ((req: Request, ctx: Ctx) => Promise<Response>) | undefined;
async function run(req: Request, ctx: Ctx): Promise<Response> {
  handler ??= NextAuth(authOptions()) as unknown as (req: Request, ctx: Ctx) => Promise<Response>;
  return partitionCookies(await handler(req, ctx));
}

export { run as GET, run as POST };
