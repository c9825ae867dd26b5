import { Field, ObjectType } from "type-graphql";
import { McpCapability } from "../capabilities/capability.type";
import { McpServer } from "../servers/server.type";

@ObjectType("CapabilityMatch", { description: "A capability found by discovery search, with its server" })
export class CapabilityMatch {
  @Field((_type) => McpCapability)
  capability!: McpCapability;

  @Field((_type) => McpServer)
  server!: McpServer;
}

@ObjectType("CapabilityMatchConnection")
export class CapabilityMatchConnection {
  @Field((_type) => [CapabilityMatch])
  items!: CapabilityMatch[];

  @Field((_type) => String, { nullable: true })
  nextCursor!: string | null;
}
