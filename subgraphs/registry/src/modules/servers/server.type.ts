import { JSONObjectScalar } from "@sprintconnect/subgraph-kit";
import { Directive, Field, ID, ObjectType } from "type-graphql";
import { DiscoveryStatus, HealthStatus, McpEnvironment, McpServerStatus, McpTransport } from "../shared/enums";

@ObjectType("McpServerHealth", { description: "Current health of a server" })
export class McpServerHealth {
  @Field((_type) => HealthStatus)
  status!: HealthStatus;

  @Field((_type) => Date, { nullable: true, description: "When the last check ran; null before the first" })
  lastCheckedAt!: Date | null;
}

@ObjectType("McpServerDiscovery", { description: "State of capability discovery for a server" })
export class McpServerDiscovery {
  @Field((_type) => DiscoveryStatus)
  status!: DiscoveryStatus;

  @Field((_type) => Date, { nullable: true })
  lastDiscoveredAt!: Date | null;

  @Field((_type) => String, { nullable: true, description: "Why the last discovery failed" })
  error!: string | null;
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
