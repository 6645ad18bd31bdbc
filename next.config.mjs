/** @type {import('next').NextConfig} */
const nextConfig = {
  poweredByHeader: false,
  reactStrictMode: true,
  // server-only packages that must not be bundled (native/wasm assets, dynamic requires)
  serverExternalPackages: ["pino", "pg", "ioredis", "bullmq", "@prisma/adapter-pg", "qrcode"],
  typescript: { tsconfigPath: "tsconfig.json" },
};

export default nextConfig;
