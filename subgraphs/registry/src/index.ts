export {
  capabilitiesQuery,
  capabilitiesWalk,
  type RunSql,
  searchCapabilities,
  searchServers,
  serversQuery,
  serversWalk,
} from "./modules/discovery/search.repository";
export { buildRegistrySchema, type RegistryDeps } from "./schema";
