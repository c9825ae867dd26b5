export { buildRegistrySchema, type RegistryDeps } from "./schema";
