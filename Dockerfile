# One image for every SprintConnect process; the default command runs them all
# (migrations, four subgraphs, worker, scheduler, gateway), as `npm start` does.
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
ENV NODE_ENV=production HOST=0.0.0.0
COPY --from=build /app /app
RUN mkdir -p /app/.sprintconnect && chown node /app/.sprintconnect
USER node
EXPOSE 4000
CMD ["node", "packages/cli/dist/main.js", "start"]
