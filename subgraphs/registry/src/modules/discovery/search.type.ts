import { Field, ID, ObjectType } from "type-graphql";
import { McpCapability } from "../capabilities/capability.type";
import { McpServer } from "../servers/server.type";

@ObjectType("CapabilityMatch", { description: "A capability found by discovery search, with its server" })
export class CapabilityMatch {
  @Field((_type) => McpCapability)
  capability!: McpCapability;

  @Field((_type) => McpServer)
  server!: McpServer;
}

@ObjectType("DiscoveryExclusion", {
  description:
    "A server or capability the search's filters match but the caller does not get, and why (asked with explain: true)",
})
export class DiscoveryExclusion {
  @Field((_type) => ID)
  serverId!: string;

  @Field((_type) => String)
  serverName!: string;

  @Field((_type) => ID, { nullable: true, description: "Set when a capability is excluded" })
  capabilityId!: string | null;

  @Field((_type) => String, { nullable: true })
  capabilityName!: string | null;

  @Field((_type) => String, { nullable: true })
  capabilityKind!: string | null;

  @Field((_type) => String, {
    description:
      "policy (a deny policy: policyId, policyName), default_closed (no policy allows it and the organization's default access is closed), server_inactive, capability_disabled or review_required",
  })
  reason!: string;

  @Field((_type) => ID, { nullable: true, description: "The deny policy that excluded it (reason policy)" })
  policyId!: string | null;

  @Field((_type) => String, { nullable: true })
  policyName!: string | null;
}

@ObjectType("ServerDiscoveryConnection", { description: "A page of discovered servers" })
export class ServerDiscoveryConnection {
  @Field((_type) => [McpServer])
  items!: McpServer[];

  @Field((_type) => String, { nullable: true })
  nextCursor!: string | null;

  @Field((_type) => [DiscoveryExclusion], {
    nullable: true,
    description: "With explain: true, the first 100 matches excluded and why; otherwise null",
  })
  excluded!: DiscoveryExclusion[] | null;
}

@ObjectType("CapabilityMatchConnection")
export class CapabilityMatchConnection {
  @Field((_type) => [CapabilityMatch])
  items!: CapabilityMatch[];

  @Field((_type) => String, { nullable: true })
  nextCursor!: string | null;

  @Field((_type) => [DiscoveryExclusion], {
    nullable: true,
    description: "With explain: true, the first 100 matches excluded and why; otherwise null",
  })
  excluded!: DiscoveryExclusion[] | null;
}
