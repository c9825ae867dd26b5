import { Field, ID, InputType, Int, ObjectType, registerEnumType } from "type-graphql";
import { CapabilityKind, HealthStatus, McpEnvironment } from "../shared/enums";

export enum CapabilityChangeType {
  ADDED = "ADDED",
  CHANGED = "CHANGED",
  REMOVED = "REMOVED",
}
registerEnumType(CapabilityChangeType, {
  name: "CapabilityChangeType",
  description: "What a discovery found about a capability compared with the previous one",
});

@InputType("CapabilityChangeFilter", { description: "Every given field must match; omitted fields match anything" })
export class CapabilityChangeFilter {
  @Field((_type) => ID, { nullable: true })
  serverId?: string | null;

  @Field((_type) => String, { nullable: true, description: "A tag the server carries" })
  tag?: string | null;

  @Field((_type) => McpEnvironment, { nullable: true })
  environment?: McpEnvironment | null;

  @Field((_type) => CapabilityKind, { nullable: true })
  kind?: CapabilityKind | null;
}

@ObjectType("CapabilityChange", { description: "A capability added, changed or removed on a server" })
export class CapabilityChange {
  @Field((_type) => ID, { description: "Id of the event; the same change is never delivered twice" })
  eventId!: string;

  @Field((_type) => ID)
  serverId!: string;

  @Field((_type) => String)
  serverName!: string;

  @Field((_type) => CapabilityChangeType)
  changeType!: CapabilityChangeType;

  @Field((_type) => ID, { description: "The capability's id" })
  id!: string;

  @Field((_type) => String, { description: "Tool or prompt name, resource URI or URI template" })
  name!: string;

  @Field((_type) => CapabilityKind)
  kind!: CapabilityKind;

  @Field((_type) => String, { nullable: true, description: "Hash of the new definition; null when removed" })
  definitionHash!: string | null;

  @Field((_type) => String, { nullable: true, description: "Hash of the previous definition; null when added" })
  previousHash!: string | null;

  @Field((_type) => Boolean, { description: "A changed tool definition waits for review before agents see it" })
  reviewRequired!: boolean;

  @Field((_type) => Date)
  occurredAt!: Date;
}

@InputType("ServerHealthChangeFilter", { description: "Every given field must match; omitted fields match anything" })
export class ServerHealthChangeFilter {
  @Field((_type) => ID, { nullable: true })
  serverId?: string | null;

  @Field((_type) => String, { nullable: true, description: "A tag the server carries" })
  tag?: string | null;

  @Field((_type) => McpEnvironment, { nullable: true })
  environment?: McpEnvironment | null;
}

@ObjectType("ServerHealthChange", { description: "A server's health status changed" })
export class ServerHealthChange {
  @Field((_type) => ID, { description: "Id of the event; the same change is never delivered twice" })
  eventId!: string;

  @Field((_type) => ID)
  serverId!: string;

  @Field((_type) => String)
  serverName!: string;

  @Field((_type) => HealthStatus)
  previousStatus!: HealthStatus;

  @Field((_type) => HealthStatus)
  status!: HealthStatus;

  @Field((_type) => Int, { nullable: true, description: "Latency of the check that caused the change, if it answered" })
  latencyMs!: number | null;

  @Field((_type) => Date)
  checkedAt!: Date;

  @Field((_type) => String, { nullable: true, description: "Why the check failed, when it did" })
  reason!: string | null;
}
