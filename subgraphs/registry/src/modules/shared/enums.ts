import { registerEnumType } from "type-graphql";

// Enum values are the same lowercase words in GraphQL, REST and the database, so the two
// APIs return the same data without a translation table.

export enum McpTransport {
  streamable_http = "streamable_http",
  sse = "sse",
}
export enum McpEnvironment {
  development = "development",
  staging = "staging",
  production = "production",
}
export enum McpServerStatus {
  active = "active",
  inactive = "inactive",
}
export enum HealthStatus {
  healthy = "healthy",
  degraded = "degraded",
  unhealthy = "unhealthy",
  auth_required = "auth_required",
  unknown = "unknown",
}
export enum DiscoveryStatus {
  never = "never",
  pending = "pending",
  running = "running",
  succeeded = "succeeded",
  failed = "failed",
}
export enum CapabilityKind {
  tool = "tool",
  resource = "resource",
  resource_template = "resource_template",
  prompt = "prompt",
}

export enum CredentialKind {
  bearer = "bearer",
  headers = "headers",
}
export enum DiscoveryRunStatus {
  pending = "pending",
  running = "running",
  succeeded = "succeeded",
  failed = "failed",
}

registerEnumType(CredentialKind, { name: "CredentialKind" });
registerEnumType(DiscoveryRunStatus, { name: "DiscoveryRunStatus" });
registerEnumType(McpTransport, { name: "McpTransport", description: "How SprintConnect connects to the server" });
registerEnumType(McpEnvironment, { name: "McpEnvironment" });
registerEnumType(McpServerStatus, { name: "McpServerStatus", description: "Whether the server is in use" });
registerEnumType(HealthStatus, { name: "HealthStatus" });
registerEnumType(DiscoveryStatus, { name: "DiscoveryStatus" });
registerEnumType(CapabilityKind, { name: "CapabilityKind" });
