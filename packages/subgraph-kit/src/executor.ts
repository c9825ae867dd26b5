import type { ApolloServerOptionsWithGateway } from "@apollo/server";
import type { Logger } from "@sprintconnect/core";
import {
  BREAK,
  type DocumentNode,
  type ExecutionResult,
  execute,
  GraphQLError,
  type GraphQLSchema,
  isScalarType,
  isSpecifiedScalarType,
  visit,
} from "graphql";
import { type CompiledQuery, compileQuery, isCompiledQuery } from "graphql-jit";
import type { SubgraphContext } from "./context";
import { subgraphSdl } from "./schema";

/**
 * Apollo Server 4/5 takes a custom executor only through its gateway interface (`load()`
 * returning the executor, after the schema was announced to `onSchemaLoadOrUpdate`).
 */
type SchemaGateway = ApolloServerOptionsWithGateway<SubgraphContext>["gateway"];
type Executor = NonNullable<Awaited<ReturnType<SchemaGateway["load"]>>["executor"]>;
type ExecutorRequest = Parameters<Executor>[0];

/** What graphql-jit could not compile: graphql-js executes it, as Apollo Server would. */
const NOT_COMPILED = null;

/**
 * A subgraph's schema for Apollo Server with its queries executed by graphql-jit: each query is
 * compiled once per parsed document and operation name (Apollo's document cache hands the same
 * `DocumentNode` to every request with the same text), then run as generated code instead of
 * graphql-js's generic walk, which was ~17% of the registry's CPU per list request. Mutations
 * and subscriptions stay on graphql-js (mutations: their cost is the write, and serial
 * execution is where two engines are likeliest to differ; subscriptions are served by
 * graphql-ws with graphql-js, `subscriptions.ts`), as does anything graphql-jit cannot compile.
 * Results keep graphql-js's shape: errors are graphql-js `GraphQLError`s, so Apollo Server and
 * `formatSubgraphError` see what they saw before (one difference: with errors of both kinds,
 * those of nullable fields come before those that bubbled from non-null fields). Documents whose
 * literals graphql-jit would turn into code are never compiled (`unsafeToCompile`).
 */
export function compiledSchemaGateway(schema: GraphQLSchema, logger: Logger): SchemaGateway {
  assertReviewedScalars(schema);
  const executor = compiledExecutor(schema, logger);
  return {
    // Apollo Server subscribes first and expects the schema announced before `load` resolves.
    onSchemaLoadOrUpdate(callback) {
      // No supergraph here: the SDL this subgraph contributes to one (no plugin of ours reads it).
      callback({ apiSchema: schema, coreSupergraphSdl: subgraphSdl(schema) });
      return () => {};
    },
    load: async () => ({ executor }),
    stop: async () => {},
  };
}

/** The executor of `compiledSchemaGateway`. */
function compiledExecutor(schema: GraphQLSchema, logger: Logger): Executor {
  // Weakly keyed by the document: an entry lives as long as Apollo's document cache keeps the
  // parsed document, so the compiled queries are bounded by that cache.
  const compiled = new WeakMap<DocumentNode, Map<string, CompiledQuery | typeof NOT_COMPILED>>();

  function compiledFor(request: ExecutorRequest): CompiledQuery | typeof NOT_COMPILED {
    const operationName = request.request.operationName ?? undefined;
    let byName = compiled.get(request.document);
    if (!byName) {
      byName = new Map();
      compiled.set(request.document, byName);
    }
    const key = operationName ?? "";
    let query = byName.get(key);
    if (query === undefined) {
      if (unsafeToCompile(request.document)) {
        logger.warn({ operationName }, "a literal or name graphql-jit would turn into code; graphql-js runs it");
        byName.set(key, NOT_COMPILED);
        return NOT_COMPILED;
      }
      const result = compileQuery(schema, request.document, operationName);
      if (isCompiledQuery(result)) {
        query = result;
      } else {
        query = NOT_COMPILED;
        logger.debug(
          { operationName, errors: result.errors },
          "graphql-jit cannot compile this operation; graphql-js runs it",
        );
      }
      byName.set(key, query);
    }
    return query;
  }

  return async (request) => {
    // No operation (several without a name, or an unknown name): graphql-js reports it as before.
    const query = request.operation?.operation === "query" ? compiledFor(request) : NOT_COMPILED;
    if (query === NOT_COMPILED) return executeWithGraphqlJs(schema, request);
    const result = await query.query(undefined, request.context, request.request.variables);
    // Only a failed coercion of the variables answers without `data`; graphql-js coerces them
    // again for its own errors (which Apollo Server answers with 400 and BAD_USER_INPUT), or runs
    // the operation if it accepts what graphql-jit did not.
    if (!("data" in result)) return executeWithGraphqlJs(schema, request);
    if (!result.errors) return { data: result.data };
    // graphql-js's key order, so the answer is the same text.
    return { errors: result.errors.map(asGraphqlJsError), data: result.data };
  };
}

/**
 * Custom scalars whose `parseLiteral` was read for what it hands graphql-jit: a literal of a
 * custom scalar is parsed when the query is compiled and its value written into the generated
 * code (see `unsafeToCompile`), so a scalar that makes a string the document does not contain
 * (decoding base64, changing case, joining parts) could make graphql-jit's marker out of text the
 * guard never saw. These return the literal's own strings and names (JSONObject, `_Any`,
 * federation's and link's scalars) or a Date, which graphql-jit writes as a number
 * (DateTimeISO).
 */
const REVIEWED_SCALARS = new Set([
  "DateTimeISO",
  "JSONObject",
  "_Any",
  "_FieldSet",
  "FieldSet",
  "federation__FieldSet",
  "federation__Policy",
  "federation__Scope",
  "link__Import",
]);

/** Refuses a schema with a custom scalar nobody reviewed for graphql-jit (see REVIEWED_SCALARS). */
function assertReviewedScalars(schema: GraphQLSchema): void {
  const unreviewed = Object.values(schema.getTypeMap())
    .filter((type) => isScalarType(type) && !isSpecifiedScalarType(type) && !REVIEWED_SCALARS.has(type.name))
    .map((type) => type.name);
  if (unreviewed.length > 0) {
    throw new Error(
      `graphql-jit writes the literals of custom scalars into generated code; review ${unreviewed.join(", ")}'s parseLiteral and add it to REVIEWED_SCALARS (packages/subgraph-kit/src/executor.ts)`,
    );
  }
}

/**
 * graphql-jit (0.8.9) writes the literal arguments of a document into the code it generates as
 * JSON, then turns strings that start with its markers (`__MAGIC_DATE__<uuid>`, and NaN and
 * ±Infinity) back into code: the rest of a string literal that starts with the date marker runs
 * as JavaScript in the subgraph (`new Date(<the rest>)`). Variables are passed as data and are
 * safe; literals are the client's text (the gateway passes them on in its fetches), so a
 * document with a marker in any string literal, or in a name (the keys of an object literal of
 * a JSON scalar), is left to graphql-js.
 */
const JIT_MARKER = "__MAGIC_";

/**
 * Whether graphql-jit must not compile `document`: a marker in a string literal or a name (see
 * above), or an alias `__proto__`, which its generated object literals set as the prototype
 * before the field's value arrives (the key then moves in the answer).
 */
function unsafeToCompile(document: DocumentNode): boolean {
  let found = false;
  const check = (text: string, name: boolean) => {
    if (!text.includes(JIT_MARKER) && !(name && text === "__proto__")) return undefined;
    found = true;
    return BREAK;
  };
  visit(document, { StringValue: (node) => check(node.value, false), Name: (node) => check(node.value, true) });
  return found;
}

/** What Apollo Server runs without a gateway (`execute` from graphql-js, no root value). */
function executeWithGraphqlJs(schema: GraphQLSchema, request: ExecutorRequest): Promise<ExecutionResult> {
  return Promise.resolve(
    execute({
      schema,
      document: request.document,
      contextValue: request.context,
      variableValues: request.request.variables,
      operationName: request.request.operationName,
    }),
  );
}

/**
 * graphql-jit's errors only inherit graphql-js's prototype: their `extensions` is undefined
 * when the original error has none, which Apollo Server's error formatting cannot read. The
 * same error as graphql-js makes it: message, path, locations, the original error and its
 * extensions.
 */
function asGraphqlJsError(error: GraphQLError): GraphQLError {
  const converted = new GraphQLError(error.message, {
    path: error.path,
    originalError: error.originalError,
    extensions: error.extensions,
  });
  // graphql-js derives them from the field's syntax nodes, which graphql-jit does not keep.
  (converted as { locations: GraphQLError["locations"] }).locations = error.locations;
  return converted;
}
