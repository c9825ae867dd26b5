import "reflect-metadata";

export { type CreatedOrganization, type CreateOrganizationInput, createOrganization } from "./create-organization";
export { loginOptionsFromEnv } from "./login-options";
export { type CodeExchange, OidcClient, type OidcSettings, type VerifiedIdentity } from "./modules/auth/oidc.client";
export { createWebhookDeps } from "./modules/webhooks/webhook.deps"; // webhooks (issue 10)
export { type AdminSchemaOptions, buildAdminSchema, type LoginOptions } from "./schema";
