import "reflect-metadata";

export { type CreatedOrganization, type CreateOrganizationInput, createOrganization } from "./create-organization";
export { createWebhookDeps } from "./modules/webhooks/webhook.deps"; // webhooks (issue 10)
export { type AdminSchemaOptions, buildAdminSchema } from "./schema";
