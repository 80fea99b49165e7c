# Herald: one image for the web and worker processes.
# Stage 1 installs production dependencies; stage 2 copies them with the source and runs as a
# non-root user. TypeScript runs through tsx's loader (no build step), as `herald` does locally.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000 VAR_DIR=/app/var OUTBOX_DIR=/app/var/outbox
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY examples ./examples
RUN groupadd --system herald && useradd --system --gid herald --home /app herald \
    && mkdir -p /app/var && chown -R herald:herald /app/var
USER herald
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=3s --retries=3 CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "bin/herald.js"]
CMD ["start"]
