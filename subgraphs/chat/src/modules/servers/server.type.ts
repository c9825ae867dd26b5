import { Directive, Field, ID, ObjectType } from "type-graphql";

/**
 * A reference to the registry's McpServer entity: this subgraph only knows the id, and the
 * gateway fetches every other field from the registry.
 */
@Directive('@key(fields: "id", resolvable: false)')
@ObjectType("McpServer")
export class McpServerRef {
  @Field((_type) => ID)
  id!: string;
}
