# One image for every SprintConnect process; docker-compose.yml runs each in its own
# container (`command:`). The default command is the gateway. The image defaults to
# production: no generated keys (JWT_SECRET_KEY, API_KEY_ENCRYPTION_KEY and
# SECRET_STORE_LOCAL_KEY are required), no Sandbox, no introspection. It runs as `node`.
FROM node:20-bookworm-slim AS build
WORKDIR /app
ENV TURBO_TELEMETRY_DISABLED=1 DATABASE_URL=postgresql://postgres@localhost:5432/sprintconnect
COPY package.json package-lock.json turbo.json tsconfig.base.json prisma.config.ts ./
COPY prisma ./prisma
COPY packages ./packages
COPY subgraphs ./subgraphs
COPY gateway ./gateway
COPY worker ./worker
COPY schema ./schema
RUN npm ci --no-audit --no-fund && npx turbo run build

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production APP_ENV=production HOST=0.0.0.0
# Owned by root and read-only to the process: it writes only outputs/ (reports).
COPY --from=build /app /app
RUN mkdir -p /app/outputs && chown node /app/outputs
USER node
EXPOSE 4000
CMD ["node", "gateway/dist/main.js"]
