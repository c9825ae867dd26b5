import { ErrorCode, type Principal } from "@sprintconnect/core";
import { type GraphQLObjectType, graphql } from "graphql";
import { Authorized, Field, FieldResolver, ObjectType, Query, Resolver, Root } from "type-graphql";
import type { SubgraphContext } from "./context";
import { buildFederatedSchema } from "./schema";

@ObjectType("PlainThing")
class PlainThing {
  @Field((_type) => String)
  name!: string;

  @Authorized("admin:write")
  @Field((_type) => String)
  secret!: string;
}

@Resolver((_of) => PlainThing)
class PlainThingResolver {
  @Query((_returns) => PlainThing)
  plainThing(): PlainThing {
    return { name: "n", secret: "s" };
  }

  @FieldResolver((_type) => String)
  computed(@Root() thing: PlainThing): string {
    return `${thing.name}!`;
  }
}

const context = (scopes: string[]): SubgraphContext =>
  ({ principal: { scopes } as unknown as Principal, requestId: "r", ip: null, logger: undefined }) as never;

describe("buildFederatedSchema", () => {
  it("reads plain fields without a resolver, and keeps those of field resolvers and @Authorized fields", async () => {
    const schema = await buildFederatedSchema({ resolvers: [PlainThingResolver] });
    const fields = (schema.getType("PlainThing") as GraphQLObjectType).getFields();
    expect(fields.name?.resolve).toBeUndefined();
    expect(fields.secret?.resolve).toBeInstanceOf(Function);
    expect(fields.computed?.resolve).toBeInstanceOf(Function);

    const source = "{ plainThing { name computed secret } }";
    const refused = await graphql({ schema, source, contextValue: context([]) });
    expect(refused.errors?.[0]?.extensions.code).toBe(ErrorCode.FORBIDDEN);
    const allowed = await graphql({ schema, source, contextValue: context(["admin:write"]) });
    expect(allowed).toEqual({ data: { plainThing: { name: "n", computed: "n!", secret: "s" } } });
  });
});
