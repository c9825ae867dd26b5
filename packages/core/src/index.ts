export * from "./audit/anchor";
export * from "./audit/audit";
export * from "./audit/record-change";
export * from "./auth/api-keys";
export * from "./auth/invalidation";
export * from "./auth/keys";
export * from "./auth/principal";
export * from "./auth/tokens";
export * from "./config";
export * from "./cursor";
export * from "./db/app-role";
export * from "./db/migrate";
export * from "./db/prisma";
export * from "./db/reads";
export * from "./db/unavailable";
export * from "./dev-secrets";
export * from "./egress-precheck";
export * from "./errors";
export * from "./events/chat-events";
export * from "./events/outbox";
export * from "./health";
export * from "./logger";
export * from "./outputs";
export * from "./outputs-s3";
// ---- access policies (issue 9) ----
export * from "./policy/access-epoch";
export * from "./policy/policy";
// ---- end access policies ----
export * from "./redis";
export * from "./secrets/create-secret-store";
export * from "./secrets/secret-store";
export * from "./secrets/vault-secret-store";
export * from "./tracing/trace-context"; // traces (issue 10)
export * from "./usage/budget";
export * from "./usage/rollup";
export * from "./usage/usage-recorder";
export * from "./usage/usage-report";
export * from "./validation";
export * from "./webhooks/webhooks"; // webhooks (issue 10)
