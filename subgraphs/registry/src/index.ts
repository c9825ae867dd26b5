export { capabilitiesQuery, serversQuery } from "./modules/discovery/search.repository";
export { buildRegistrySchema, type RegistryDeps } from "./schema";
