import { JSONObjectScalar } from "@sprintconnect/subgraph-kit";
import { Directive, Field, ID, Int, ObjectType } from "type-graphql";
import {
  CredentialKind,
  DiscoveryRunStatus,
  DiscoveryStatus,
  HealthStatus,
  McpEnvironment,
  McpServerStatus,
  McpTransport,
} from "../shared/enums";

@ObjectType("McpServerHealth", { description: "Current health of a server" })
export class McpServerHealth {
  @Field((_type) => HealthStatus)
  status!: HealthStatus;

  @Field((_type) => Date, { nullable: true, description: "When the last check ran; null before the first" })
  lastCheckedAt!: Date | null;

  @Field((_type) => Int, { nullable: true, description: "Connect + ping time of the last check, in ms" })
  latencyMs!: number | null;
}

@ObjectType("McpCredentialInfo", { description: "That a server has credentials, never what they are" })
export class McpCredentialInfo {
  @Field((_type) => CredentialKind)
  kind!: CredentialKind;

  @Field((_type) => [String], { description: "Names of the headers sent (for custom headers)" })
  headerNames!: string[];

  @Field((_type) => String, {
    description: "The origin (scheme://host:port) the credentials are sent to, and only there",
  })
  origin!: string;

  @Field((_type) => Date)
  updatedAt!: Date;
}

@ObjectType("McpServerDiscovery", { description: "State of capability discovery for a server" })
export class McpServerDiscovery {
  @Field((_type) => DiscoveryStatus)
  status!: DiscoveryStatus;

  @Field((_type) => Date, { nullable: true })
  lastDiscoveredAt!: Date | null;

  @Field((_type) => String, { nullable: true, description: "Why the last discovery failed" })
  error!: string | null;

  @Field((_type) => String, { nullable: true, description: "MCP protocol version negotiated by the last discovery" })
  protocolVersion!: string | null;

  @Field((_type) => JSONObjectScalar, { nullable: true, description: "`serverInfo` from `initialize`" })
  serverInfo!: Record<string, unknown> | null;

  @Field((_type) => JSONObjectScalar, { nullable: true, description: "Capabilities from `initialize`" })
  capabilities!: Record<string, unknown> | null;

  @Field((_type) => String, { nullable: true })
  instructions!: string | null;
}

@Directive('@key(fields: "id")')
@ObjectType("McpServer", { description: "An MCP server registered by an organization" })
export class McpServer {
  @Field((_type) => ID)
  id!: string;

  @Field((_type) => String)
  name!: string;

  @Field((_type) => String, { nullable: true })
  description!: string | null;

  @Field((_type) => String, { description: "http(s) URL of the server's MCP endpoint" })
  baseUrl!: string;

  @Field((_type) => McpTransport)
  transport!: McpTransport;

  @Field((_type) => McpEnvironment)
  environment!: McpEnvironment;

  @Field((_type) => [String])
  tags!: string[];

  @Field((_type) => JSONObjectScalar)
  metadata!: Record<string, unknown>;

  @Field((_type) => McpServerStatus)
  status!: McpServerStatus;

  @Field((_type) => McpServerHealth)
  health!: McpServerHealth;

  @Field((_type) => McpServerDiscovery)
  discovery!: McpServerDiscovery;

  @Field((_type) => McpCredentialInfo, { nullable: true, description: "null when the server has no credentials" })
  credentials!: McpCredentialInfo | null;

  @Field((_type) => Boolean, {
    description:
      "true on the result of an update that moved the server to another origin (scheme, host, port) without new credentials: its credentials, bound to the old origin, were removed. false otherwise",
  })
  credentialsDropped!: boolean;

  @Field((_type) => Date)
  createdAt!: Date;

  @Field((_type) => Date)
  updatedAt!: Date;
}

@ObjectType("McpServerConnection", { description: "A page of servers" })
export class McpServerConnection {
  @Field((_type) => [McpServer])
  items!: McpServer[];

  @Field((_type) => String, { nullable: true, description: "Pass as `cursor` for the next page; null on the last" })
  nextCursor!: string | null;
}

@ObjectType("DiscoveryJob", { description: "A queued discovery of a server" })
export class DiscoveryJob {
  @Field((_type) => ID, { description: "Id of the job and of its discovery run" })
  jobId!: string;

  @Field((_type) => ID)
  serverId!: string;

  @Field((_type) => DiscoveryRunStatus)
  status!: DiscoveryRunStatus;
}

@ObjectType("HealthCheckResult", { description: "One raw health check result" })
export class HealthCheckResult {
  @Field((_type) => HealthStatus)
  result!: HealthStatus;

  @Field((_type) => Int, { nullable: true })
  latencyMs!: number | null;

  @Field((_type) => String, { nullable: true })
  error!: string | null;

  @Field((_type) => Date)
  checkedAt!: Date;
}

@ObjectType("McpServerHealthReport", { description: "Current health, the last check and recent history" })
export class McpServerHealthReport {
  @Field((_type) => ID)
  serverId!: string;

  @Field((_type) => HealthStatus, { description: "The state, changed only after consecutive agreeing checks" })
  status!: HealthStatus;

  @Field((_type) => Date, { nullable: true })
  lastCheckedAt!: Date | null;

  @Field((_type) => Int, { nullable: true })
  latencyMs!: number | null;

  @Field((_type) => String, { nullable: true, description: "Error of the last check, if it failed" })
  reason!: string | null;

  @Field((_type) => HealthStatus, { nullable: true, description: "A state recent checks agree on, not yet applied" })
  pendingStatus!: HealthStatus | null;

  @Field((_type) => Int, { description: "Consecutive checks that agree on pendingStatus" })
  pendingCount!: number;

  @Field((_type) => [HealthCheckResult], { description: "Recent checks, newest first" })
  history!: HealthCheckResult[];
}
