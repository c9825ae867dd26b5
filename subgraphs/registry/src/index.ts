export { buildRegistrySchema, type RegistryDeps } from "./schema";
export { capabilitiesQuery, serversQuery } from "./modules/discovery/search.repository";
