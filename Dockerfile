# Herald: one image for the web and the worker processes (docker-compose.yml builds it once).
# Node 26 is the active LTS line (since October 2026); Node 20 is past its end of life.
#   build  every dependency; `npm ci` compiles src/ into dist/ through the `prepare` script
#   deps   production dependencies only (no TypeScript, no tsx), install scripts off
#   final  deps + dist/ + bin/ + examples/, run as the non-root user herald
FROM node:26-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm ci --no-audit --no-fund

FROM node:26-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:26-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 VAR_DIR=/app/var OUTBOX_DIR=/app/var/outbox
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
COPY examples ./examples
RUN groupadd --system herald && useradd --system --gid herald --home /app herald \
    && mkdir -p /app/var && chown -R herald:herald /app/var
USER herald
EXPOSE 3000
# True for every role: Redis answers. docker-compose.yml refines it per service (the web
# process: GET /readyz; worker-only processes, which serve no HTTP: `herald healthcheck --workers`).
HEALTHCHECK --interval=15s --timeout=5s --retries=3 CMD ["node", "bin/herald.js", "healthcheck"]
ENTRYPOINT ["node", "bin/herald.js"]
CMD ["start"]
