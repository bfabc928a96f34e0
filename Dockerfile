# syntax=docker/dockerfile:1
#
# One image for every snip app. The default command runs the api; pick another entry point by
# command, for example `node dist/apps/api/src/cli.js migration:run` (the pre-deploy step).
# The other apps, same image:
#   node dist/apps/logs/src/main.js   the click consumer (health and metrics on LOGS_PORT, 3001)
#   node dist/apps/edge/src/main.js   the edge redirector (EDGE_PORT, 3002; needs REDIS_URL,
#                                     EDGE_UPSTREAM_URL and CLICKS_TRANSPORT redis-streams or rmq)
#
#   docker build -t snip .
#   docker run --rm -e DATABASE_URL=... -e PUBLIC_BASE_URL=... -e SHORT_CODE_SECRET=... -p 3000:3000 snip

# The supported LTS line snip recommends and CI tests on (scripts/node-lts.sh pins the same line).
ARG NODE_IMAGE=node:26-trixie-slim

# The package manifests and npm settings both install stages start from. Only the manifests are
# copied, so the install layers are reused until package.json or package-lock.json change.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /app
ENV SCARF_ANALYTICS=false \
    npm_config_audit=false \
    npm_config_fund=false \
    npm_config_update_notifier=false
COPY package.json package-lock.json ./

# Every dependency, for the build.
FROM manifests AS deps
RUN npm ci

# Compile apps/ and libs/ to dist/ with swc (the same `npm run build` as everywhere else).
FROM deps AS build
COPY tsconfig.json .swcrc nest-cli.json ./
COPY apps ./apps
COPY libs ./libs
RUN npm run build

# Production dependencies only.
FROM manifests AS prod-deps
RUN npm ci --omit=dev && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    SNIP_PROFILE=production \
    DATA_DIR=/app/data
WORKDIR /app
COPY --from=prod-deps /app/node_modules ./node_modules
COPY package.json ./
COPY config ./config
COPY --from=build /app/dist ./dist
# The image's files stay owned by root (read-only to the app); only DATA_DIR is writable.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/apps/api/src/main.js"]
