import "reflect-metadata";

export { type CreatedOrganization, type CreateOrganizationInput, createOrganization } from "./create-organization";
export { loginOptionsFromEnv } from "./login-options";
export { type AdminSchemaOptions, buildAdminSchema, type LoginOptions } from "./schema";
