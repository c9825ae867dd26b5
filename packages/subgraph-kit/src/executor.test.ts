import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginInlineTraceDisabled } from "@apollo/server/plugin/disabled";
import { AppError, ErrorCode, type Logger, notFound, type Principal } from "@sprintconnect/core";
import { buildSchema, getIntrospectionQuery } from "graphql";
import pino from "pino";
import {
  Arg,
  Authorized,
  Ctx,
  Directive,
  Field,
  FieldResolver,
  ID,
  InputType,
  Int,
  Mutation,
  ObjectType,
  Query,
  Resolver,
  Root,
  registerEnumType,
} from "type-graphql";
import type { SubgraphContext } from "./context";
import { compiledSchemaGateway } from "./executor";
import { JSONObjectScalar } from "./scalars";
import { buildFederatedSchema } from "./schema";
import { formatSubgraphError } from "./server";

/*
 * The compiled executor against graphql-js, through Apollo Server as each subgraph configures it:
 * every request below is answered by both, and the answers (body and HTTP status) must be the
 * same text. A small schema built like every subgraph's (type-graphql, `buildFederatedSchema`),
 * with what the engines could treat differently: entities, enums, input objects, custom scalars,
 * lists, fragments, directives, errors with our codes, null bubbling, variables.
 */

enum JitShade {
  LIGHT = "light",
  DARK = "dark",
}
registerEnumType(JitShade, { name: "JitShade" });

@ObjectType("JitInner")
class JitInner {
  @Field((_type) => String)
  value!: string | null;

  @Field((_type) => [Int], { nullable: true })
  numbers!: number[] | null;
}

@Directive('@key(fields: "id")')
@ObjectType("JitThing")
class JitThing {
  @Field((_type) => ID)
  id!: string;

  @Field((_type) => String)
  name!: string;

  @Field((_type) => String, { nullable: true })
  note!: string | null;

  @Field((_type) => JitShade)
  shade!: JitShade;

  @Field((_type) => [String])
  tags!: string[];

  @Field((_type) => Date, { nullable: true })
  at!: Date | null;

  @Field((_type) => JSONObjectScalar, { nullable: true })
  meta!: Record<string, unknown> | null;

  @Field((_type) => JitInner)
  inner!: JitInner;

  @Field((_type) => JitInner, { nullable: true })
  maybeInner!: JitInner | null;
}

@InputType("JitFilter")
class JitFilter {
  @Field((_type) => JitShade, { nullable: true })
  shade?: JitShade;

  @Field((_type) => Int)
  minTags!: number;

  @Field((_type) => Date, { nullable: true })
  after?: Date;
}

const AT = new Date("2026-12-03T08:00:00.000Z");
const THINGS: JitThing[] = [
  {
    id: "t1",
    name: "one",
    note: null,
    shade: JitShade.LIGHT,
    tags: ["a", "b"],
    at: AT,
    meta: { nested: { list: [1, "x", null] } },
    inner: { value: "v1", numbers: [1, 2] },
    maybeInner: null,
  },
  {
    id: "t2",
    name: "two",
    note: "note",
    shade: JitShade.DARK,
    tags: [],
    at: null,
    meta: null,
    inner: { value: "v2", numbers: null },
    maybeInner: { value: null, numbers: [3] },
  },
];

@Resolver((_of) => JitThing)
class JitThingResolver {
  @Authorized("servers:read")
  @Query((_returns) => [JitThing])
  jitThings(
    @Arg("filter", (_type) => JitFilter, { nullable: true }) filter?: JitFilter,
    @Arg("limit", (_type) => Int, { nullable: true }) limit?: number,
  ): JitThing[] {
    return THINGS.filter((t) => (!filter?.shade || t.shade === filter.shade) && t.tags.length >= (filter?.minTags ?? 0))
      .filter((t) => !filter?.after || (t.at !== null && t.at > filter.after))
      .slice(0, limit ?? 100);
  }

  @Authorized("servers:read")
  @Query((_returns) => JitThing)
  async jitThing(@Arg("id", (_type) => ID) id: string): Promise<JitThing> {
    const thing = THINGS.find((t) => t.id === id);
    if (!thing) throw notFound("Thing");
    return thing;
  }

  @Query((_returns) => JitThing, { nullable: true, description: "Its inner value is null: the null bubbles here" })
  jitBroken(): JitThing {
    return { ...(THINGS[0] as JitThing), inner: { value: null, numbers: null } };
  }

  @Query((_returns) => [JitThing], { description: "A non-null item in a non-null list breaks" })
  jitBrokenList(): JitThing[] {
    return [THINGS[0] as JitThing, { ...(THINGS[1] as JitThing), name: null as unknown as string }];
  }

  @Query((_returns) => String, { nullable: true })
  jitUnexpected(): string {
    throw new Error("a bug with internals in its message");
  }

  @Query((_returns) => String, { nullable: true })
  async jitRejected(@Arg("code", (_type) => String) code: string): Promise<string> {
    throw new AppError(code as ErrorCode, "refused", { why: code });
  }

  @Query((_returns) => String)
  jitEcho(
    @Arg("text", (_type) => String) text: string,
    @Arg("meta", (_type) => JSONObjectScalar, { nullable: true }) meta?: Record<string, unknown>,
  ): string {
    return meta ? `${text} ${JSON.stringify(meta)}` : text;
  }

  @Mutation((_returns) => JitThing)
  jitRename(@Arg("id", (_type) => ID) id: string, @Arg("name", (_type) => String) name: string): JitThing {
    const thing = THINGS.find((t) => t.id === id);
    if (!thing) throw notFound("Thing");
    return { ...thing, name };
  }

  @FieldResolver((_type) => String)
  shout(@Root() thing: JitThing, @Ctx() context: SubgraphContext): string {
    return `${thing.name.toUpperCase()} for ${context.principal?.userId ?? "nobody"}`;
  }
}

function principal(scopes: string[]): Principal {
  return {
    organizationId: "00000000-0000-0000-0000-000000000001",
    userId: "u1",
    apiKeyId: null,
    role: "owner",
    scopes,
    authMethod: "api_key",
  } as unknown as Principal;
}

const debugLines: Array<{ msg: string }> = [];
const logger = pino({ level: "debug" }, { write: (line: string) => debugLines.push(JSON.parse(line)) }) as Logger;

let graphqlJs: ApolloServer<SubgraphContext>;
let compiled: ApolloServer<SubgraphContext>;

beforeAll(async () => {
  const schema = await buildFederatedSchema({
    resolvers: [JitThingResolver],
    referenceResolvers: {
      JitThing: {
        scopes: ["servers:read"],
        resolve: async (ref) => {
          const thing = THINGS.find((t) => t.id === ref.id);
          if (!thing) throw notFound("Thing");
          return thing;
        },
      },
    },
  });
  const common = {
    introspection: true,
    includeStacktraceInErrorResponses: false,
    formatError: formatSubgraphError(logger),
    plugins: [ApolloServerPluginInlineTraceDisabled()],
  };
  graphqlJs = new ApolloServer<SubgraphContext>({ ...common, schema });
  compiled = new ApolloServer<SubgraphContext>({ ...common, gateway: compiledSchemaGateway(schema, logger) });
  await Promise.all([graphqlJs.start(), compiled.start()]);
});

afterAll(async () => {
  await Promise.all([graphqlJs.stop(), compiled.stop()]);
});

interface Case {
  query: string;
  variables?: Record<string, unknown>;
  operationName?: string;
  scopes?: string[] | null;
}

/** Both answers, as the HTTP layer would send them. */
async function both(request: Case): Promise<{ jit: string; js: string }> {
  const answer = async (server: ApolloServer<SubgraphContext>) => {
    const contextValue: SubgraphContext = {
      principal: request.scopes === null ? null : principal(request.scopes ?? ["servers:read"]),
      requestId: "r1",
      ip: null,
      logger,
    };
    const { scopes: _, ...operation } = request;
    const response = await server.executeOperation(operation, { contextValue });
    const body = response.body.kind === "single" ? response.body.singleResult : "incremental";
    return JSON.stringify({ status: response.http.status ?? 200, body });
  };
  return { jit: await answer(compiled), js: await answer(graphqlJs) };
}

async function expectSame(request: Case): Promise<Record<string, any>> {
  const { jit, js } = await both(request);
  expect(jit).toBe(js);
  return JSON.parse(jit);
}

const SELECTION = "id name note shade tags at meta inner { value numbers } maybeInner { value } shout __typename";

describe("the compiled executor, against graphql-js through Apollo Server", () => {
  it("answers a list with input objects, enums, custom scalars and a field resolver the same", async () => {
    const answer = await expectSame({
      query: `query List($f: JitFilter, $n: Int) { jitThings(filter: $f, limit: $n) { ${SELECTION} } }`,
      variables: { f: { shade: "LIGHT", minTags: 1, after: "2026-01-01T00:00:00.000Z" }, n: 5 },
    });
    expect(answer.body.data.jitThings).toHaveLength(1);
    expect(answer.body.data.jitThings[0]).toMatchObject({ id: "t1", shade: "LIGHT", at: AT.toISOString() });
    await expectSame({ query: `{ jitThings { ${SELECTION} } }` });
  });

  it("answers fragments, aliases, @skip and @include the same", async () => {
    await expectSame({
      query: `query($skip: Boolean!, $inc: Boolean!) {
        first: jitThing(id: "t1") { ...Parts alias: name note @skip(if: $skip) inner @include(if: $inc) { value } }
        second: jitThing(id: "t2") { ... on JitThing { id maybeInner { value } } }
      }
      fragment Parts on JitThing { id tags shout }`,
      variables: { skip: true, inc: false },
    });
  });

  it("answers _service and _entities, found, missing and refused, the same", async () => {
    const sdl = await expectSame({ query: "{ _service { sdl } }" });
    expect(sdl.body.data._service.sdl).toContain('type JitThing @key(fields: "id")');
    const query = `query($r: [_Any!]!) { _entities(representations: $r) { ... on JitThing { id name shout } } }`;
    const representations = [
      { __typename: "JitThing", id: "t2" },
      { __typename: "JitThing", id: "nope" },
      { __typename: "JitThing", id: "t1" },
    ];
    const found = await expectSame({ query, variables: { r: representations } });
    expect(found.body.data._entities).toEqual([
      { id: "t2", name: "two", shout: "TWO for u1" },
      null,
      { id: "t1", name: "one", shout: "ONE for u1" },
    ]);
    expect(found.body.errors).toEqual([
      { message: "Thing not found", path: ["_entities", 1], extensions: { code: ErrorCode.NOT_FOUND } },
    ]);
    const refused = await expectSame({ query, variables: { r: representations.slice(0, 1) }, scopes: ["chat:read"] });
    expect(refused.body.errors[0].extensions.code).toBe(ErrorCode.FORBIDDEN);
  });

  it("answers our error codes, from resolvers and from authorization, the same", async () => {
    const missing = await expectSame({ query: `{ jitThing(id: "nope") { id } }` });
    expect(missing.body).toEqual({
      errors: [{ message: "Thing not found", path: ["jitThing"], extensions: { code: ErrorCode.NOT_FOUND } }],
      data: null,
    });
    const rejected = await expectSame({ query: `{ jitRejected(code: "CONFLICT") }` });
    expect(rejected.body.errors[0].extensions).toEqual({ code: ErrorCode.CONFLICT, details: { why: "CONFLICT" } });
    const anonymous = await expectSame({ query: "{ jitThings { id } }", scopes: null });
    expect(anonymous.body.errors[0].extensions.code).toBe(ErrorCode.UNAUTHENTICATED);
    const forbidden = await expectSame({ query: "{ jitThings { id } }", scopes: ["chat:read"] });
    expect(forbidden.body.errors[0].extensions.code).toBe(ErrorCode.FORBIDDEN);
    const unexpected = await expectSame({ query: '{ jitUnexpected jitThing(id: "t1") { id } }' });
    expect(unexpected.body).toEqual({
      errors: [{ message: "Internal error", path: ["jitUnexpected"], extensions: { code: ErrorCode.INTERNAL } }],
      data: { jitUnexpected: null, jitThing: { id: "t1" } },
    });
  });

  it("bubbles the null of a non-null field to the nearest nullable one the same", async () => {
    const broken = await expectSame({ query: "{ jitBroken { id inner { value } } }" });
    expect(broken.body).toEqual({
      errors: [{ message: "Internal error", path: ["jitBroken", "inner", "value"], extensions: { code: "INTERNAL" } }],
      data: { jitBroken: null },
    });
    const list = await expectSame({ query: "{ jitBrokenList { id name } }" });
    expect(list.body.data).toBeNull();
    expect(list.body.errors[0].path).toEqual(["jitBrokenList", 1, "name"]);
    await expectSame({ query: "{ jitThings { id maybeInner { value } } }" });
    // The one difference: graphql-jit lists the errors of nullable fields before those that
    // bubbled from non-null ones; graphql-js in the order they happened (the spec sets none).
    const { jit, js } = await both({ query: "{ jitBroken { id inner { value } } jitUnexpected }" });
    const byPath = (answer: string) => {
      const parsed = JSON.parse(answer);
      parsed.body.errors.sort((a: { path: string[] }, b: { path: string[] }) =>
        a.path.join(".").localeCompare(b.path.join(".")),
      );
      return parsed;
    };
    expect(byPath(jit)).toEqual(byPath(js));
    expect(JSON.parse(jit).body.errors).toHaveLength(2);
  });

  it("refuses bad variables with graphql-js's errors and status, BAD_REQUEST", async () => {
    const query = `query($f: JitFilter, $n: Int, $id: ID!) { jitThings(filter: $f, limit: $n) { id } jitThing(id: $id) { id } }`;
    const bad: Array<Record<string, unknown>> = [
      { id: "t1", n: "five" },
      { id: "t1", n: 1.5 },
      {},
      { id: null },
      { id: "t1", f: { minTags: 1, shade: "PURPLE" } },
      { id: "t1", f: { minTags: 1, shade: "light" } },
      { id: "t1", f: { shade: "LIGHT" } },
      { id: "t1", f: { minTags: 1, unknown: true } },
      { id: "t1", f: { minTags: 1, after: "not a date" } },
      { id: "t1", f: "not an object" },
      { id: { nested: true } },
    ];
    for (const variables of bad) {
      const answer = await expectSame({ query, variables });
      expect(answer.status).toBe(400);
      expect(answer.body.data).toBeUndefined();
      expect(answer.body.errors[0].extensions.code).toBe(ErrorCode.BAD_REQUEST);
    }
    // Accepted the same: coercions graphql-js allows, and variables the operation does not declare.
    const fine = await expectSame({ query, variables: { id: 1, n: 2, f: { minTags: 0 }, extra: "ignored" } });
    expect(fine.body.data).toBeNull();
    expect(fine.body.errors[0].extensions.code).toBe(ErrorCode.NOT_FOUND);
    await expectSame({ query, variables: { id: "t1", f: { minTags: "1" } } });
  });

  it("answers operation selection, mutations and introspection the same", async () => {
    const two = `query A { jitThing(id: "t1") { id } } query B { jitThing(id: "t2") { name } }`;
    await expectSame({ query: two, operationName: "B" });
    await expectSame({ query: two });
    await expectSame({ query: two, operationName: "C" });
    await expectSame({ query: `mutation { jitRename(id: "t1", name: "uno") { id name shout } }` });
    await expectSame({ query: `mutation { jitRename(id: "nope", name: "uno") { id } }` });
    await expectSame({ query: getIntrospectionQuery() });
    await expectSame({
      query: `{ __type(name: "JitThing") { name fields { name type { kind name ofType { name } } } } }`,
    });
  });

  it("never runs a literal of the document as code: one with graphql-jit's markers, or a __proto__ alias, goes to graphql-js", async () => {
    const marker = "__MAGIC_DATE__33a9e76d_02e0_4128_8e92_3530ad3da74d";
    const run = `(globalThis.jitLiteralRan = true, 0)`;
    const literals = [
      `"${marker}${run}"`,
      `"""${marker}${run}"""`,
      `"\\u005F_MAGIC_DATE__33a9e76d_02e0_4128_8e92_3530ad3da74d${run}"`,
      `"x", meta: { a: ["${marker}${run}"] }`,
      `"x", meta: { ${marker}_key: 1, b: "__MAGIC_NAN__57f286b9_4c20_487f_b409_79804ddcb4f8" }`,
    ];
    for (const literal of literals) {
      const answer = await expectSame({ query: `{ jitEcho(text: ${literal}) }` });
      expect(answer.body.errors).toBeUndefined();
    }
    expect((globalThis as Record<string, unknown>).jitLiteralRan).toBeUndefined();
    // An alias graphql-jit's object literals would take for the prototype: the keys keep their order.
    const proto = await expectSame({ query: `{ __proto__: jitThing(id: "t1") { id } after: jitEcho(text: "b") }` });
    expect(Object.keys(proto.body.data)).toEqual(["__proto__", "after"]);
    const refused = debugLines.filter((line) => line.msg.includes("graphql-jit would turn into code"));
    expect(refused).toHaveLength(literals.length + 1);
  });

  it("refuses a schema with a custom scalar whose literals nobody reviewed for graphql-jit", () => {
    const schema = buildSchema("scalar Base64\ntype Query { decode(text: Base64): String }");
    expect(() => compiledSchemaGateway(schema, logger)).toThrow(/review Base64's parseLiteral/);
    expect(() => compiledSchemaGateway(buildSchema("type Query { x(at: String): Int }"), logger)).not.toThrow();
  });

  it("compiled every other query it answered (graphql-js ran none of them as a fallback)", () => {
    expect(debugLines.filter((line) => line.msg.includes("graphql-jit cannot compile"))).toEqual([]);
  });
});
