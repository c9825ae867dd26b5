import "reflect-metadata";

export { type CreatedOrganization, type CreateOrganizationInput, createOrganization } from "./create-organization";
export { type AdminSchemaOptions, buildAdminSchema } from "./schema";
