import { JSONObjectScalar } from "@sprintconnect/subgraph-kit";
import { Directive, Field, ID, ObjectType } from "type-graphql";
import { CapabilityKind } from "../shared/enums";

@Directive('@key(fields: "id")')
@ObjectType("McpCapability", { description: "A tool, resource, resource template or prompt a server offers" })
export class McpCapability {
  @Field((_type) => ID)
  id!: string;

  @Field((_type) => ID)
  serverId!: string;

  @Field((_type) => CapabilityKind)
  kind!: CapabilityKind;

  @Field((_type) => String, { description: "Tool or prompt name, resource URI or URI template" })
  name!: string;

  @Field((_type) => String, { nullable: true })
  title!: string | null;

  @Field((_type) => String, { nullable: true })
  description!: string | null;

  @Field((_type) => JSONObjectScalar, { nullable: true, description: "JSON Schema of a tool's input" })
  inputSchema!: Record<string, unknown> | null;

  @Field((_type) => JSONObjectScalar, { description: "The definition as the server reported it" })
  definition!: Record<string, unknown>;

  @Field((_type) => String, { description: "SHA-256 of the definition's canonical JSON" })
  definitionHash!: string;

  @Field((_type) => Boolean, { description: "Disabled capabilities are hidden from agents" })
  enabled!: boolean;

  @Field((_type) => Boolean, {
    description:
      "The tool's definition changed since it was first seen; discovery search hides it from agents until it is reviewed and the flag cleared",
  })
  reviewRequired!: boolean;

  @Field((_type) => JSONObjectScalar)
  metadata!: Record<string, unknown>;

  @Field((_type) => Date)
  createdAt!: Date;

  @Field((_type) => Date)
  updatedAt!: Date;
}

@ObjectType("McpCapabilityConnection")
export class McpCapabilityConnection {
  @Field((_type) => [McpCapability])
  items!: McpCapability[];

  @Field((_type) => String, { nullable: true })
  nextCursor!: string | null;
}
