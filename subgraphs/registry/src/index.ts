export { buildRegistrySchema } from "./schema";
