# Production image for both processes: `app` (Next.js) and `worker` (Baileys sockets, queues).
# Build:  docker compose build      Run: docker compose up
FROM node:20-bookworm-slim AS deps
WORKDIR /srv
COPY package.json package-lock.json ./
COPY scripts/prisma-generate.mjs scripts/prisma-generate.mjs
RUN npm ci --no-audit --no-fund

FROM deps AS build
COPY . .
RUN node scripts/prisma-generate.mjs && npx next build

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production NEXT_TELEMETRY_DISABLED=1
WORKDIR /srv
COPY package.json package-lock.json ./
COPY scripts/prisma-generate.mjs scripts/prisma-generate.mjs
# runtime dependencies only; the generated Prisma client comes from the build stage
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /srv/lib/generated ./lib/generated
COPY --from=build /srv/.next ./.next
COPY --from=build /srv/public ./public
COPY app ./app
COPY lib ./lib
COPY worker ./worker
COPY prisma ./prisma
COPY next.config.mjs tsconfig.json prisma.config.ts ./
RUN chown -R node:node /srv/.next
USER node
EXPOSE 3000 9464
# app by default; the worker service overrides the command
CMD ["node", "node_modules/next/dist/bin/next", "start", "-p", "3000", "-H", "0.0.0.0"]
