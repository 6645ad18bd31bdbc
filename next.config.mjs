/** @type {import('next').NextConfig} */
const nextConfig = {
  // the Docker image runs the standalone server; node_modules stay out of the image
  output: "standalone",
  poweredByHeader: false,
  reactStrictMode: true,
  // server-only packages that must not be bundled (native/wasm assets, dynamic requires)
  serverExternalPackages: ["pino", "pg", "ioredis", "bullmq", "@prisma/adapter-pg", "qrcode"],
  typescript: { tsconfigPath: "tsconfig.json" },
};

export default nextConfig;
