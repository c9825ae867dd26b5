import {
  type DocumentNode,
  type GraphQLInputType,
  type GraphQLSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  type OperationDefinitionNode,
  parse,
  typeFromAST,
  validate,
} from "graphql";
import type { RestRoute } from "./routes";

/** A route checked against the supergraph at start-up, ready to execute. */
export interface CompiledRoute extends RestRoute {
  document: string;
  ast: DocumentNode;
  operation: OperationDefinitionNode;
  rootField: string;
  pathParams: string[];
  variables: Map<string, GraphQLInputType>;
}

/** Validates every route's operation against the API schema; a broken table fails at boot. */
export function compileRoutes(routes: RestRoute[], schema: GraphQLSchema): CompiledRoute[] {
  return routes.map((route) => {
    const ast = parse(route.document);
    const errors = validate(schema, ast);
    if (errors.length > 0) {
      throw new Error(`REST route ${route.method} ${route.path}: ${errors.map((e) => e.message).join("; ")}`);
    }
    const operation = ast.definitions.find((d): d is OperationDefinitionNode => d.kind === "OperationDefinition");
    const root = operation?.selectionSet.selections[0];
    if (!operation || !root || root.kind !== "Field" || operation.selectionSet.selections.length !== 1) {
      throw new Error(`REST route ${route.method} ${route.path}: needs one operation with one root field`);
    }
    const variables = new Map<string, GraphQLInputType>();
    for (const def of operation.variableDefinitions ?? []) {
      variables.set(def.variable.name.value, typeFromAST(schema, def.type as never) as GraphQLInputType);
    }
    const pathParams = [...route.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => m[1] as string);
    for (const p of pathParams) {
      if (!variables.has(p)) throw new Error(`REST route ${route.method} ${route.path}: no variable $${p}`);
    }
    return { ...route, ast, operation, rootField: (root.alias ?? root.name).value, pathParams, variables };
  });
}

/** Why a request's parameters cannot become variables. */
export class RequestShapeError extends Error {}

/**
 * Builds the operation's variables from path parameters, query string and body. Query values
 * are strings; they are coerced by the variable's GraphQL type (Int, Boolean, lists) and
 * unknown parameters are refused. GraphQL then validates everything else.
 */
export function variablesFor(
  route: CompiledRoute,
  params: Record<string, string>,
  query: Record<string, string | string[] | undefined>,
  body: unknown,
): Record<string, unknown> {
  const vars: Record<string, unknown> = {};
  for (const p of route.pathParams) vars[p] = params[p];
  for (const [name, raw] of Object.entries(query)) {
    const type = route.variables.get(name);
    if (!type || route.pathParams.includes(name) || name === "input") {
      throw new RequestShapeError(`Unknown query parameter "${name}"`);
    }
    if (raw === undefined) continue;
    vars[name] = coerceQueryValue(name, type, raw);
  }
  if (route.variables.has("input")) {
    if (body === null || typeof body !== "object" || Array.isArray(body)) {
      throw new RequestShapeError("The request body must be a JSON object");
    }
    checkBodyShape(body, route.variables.get("input") as GraphQLInputType, "");
    vars.input = body;
  }
  return vars;
}

/** JSON types of the built-in scalars; a body value of another type is refused, not coerced. */
const SCALAR_JSON_TYPES: Readonly<Record<string, (value: unknown) => boolean>> = {
  String: (v) => typeof v === "string",
  ID: (v) => typeof v === "string",
  Int: (v) => Number.isInteger(v),
  Float: (v) => typeof v === "number",
  Boolean: (v) => typeof v === "boolean",
};

/**
 * Checks a JSON body against the variable's input type strictly, before GraphQL sees it:
 * GraphQL's input coercion would turn `"alpha"` into `["alpha"]` and `42` into the ID `"42"`;
 * a REST body of the wrong type is BAD_REQUEST instead. Unknown fields, missing required fields
 * and custom scalars (JSON, dates) are left to GraphQL's own validation, which refuses them.
 */
export function checkBodyShape(value: unknown, type: GraphQLInputType, path: string): void {
  if (value === null || value === undefined) return;
  const inner = isNonNullType(type) ? type.ofType : type;
  const at = path || "the body";
  if (isListType(inner)) {
    if (!Array.isArray(value)) throw new RequestShapeError(`Field "${at}" must be a list`);
    for (const [i, item] of value.entries()) checkBodyShape(item, inner.ofType, `${path}[${i}]`);
    return;
  }
  if (isInputObjectType(inner)) {
    if (typeof value !== "object" || Array.isArray(value))
      throw new RequestShapeError(`Field "${at}" must be an object`);
    const fields = inner.getFields();
    for (const [key, item] of Object.entries(value)) {
      const field = fields[key];
      if (field) checkBodyShape(item, field.type, path ? `${path}.${key}` : key);
    }
    return;
  }
  if (isEnumType(inner) && typeof value !== "string") throw new RequestShapeError(`Field "${at}" must be a string`);
  if (isScalarType(inner)) {
    const check = SCALAR_JSON_TYPES[inner.name];
    if (check && !check(value)) {
      const expected =
        inner.name === "Int"
          ? "an integer"
          : inner.name === "Float"
            ? "a number"
            : `a ${inner.name === "Boolean" ? "boolean" : "string"}`;
      throw new RequestShapeError(`Field "${at}" must be ${expected}`);
    }
  }
}

function coerceQueryValue(name: string, type: GraphQLInputType, raw: string | string[]): unknown {
  const inner = isNonNullType(type) ? type.ofType : type;
  if (isListType(inner)) {
    const values = Array.isArray(raw) ? raw : [raw];
    return values.map((v) => coerceScalar(name, getNamedType(inner).name, v));
  }
  if (Array.isArray(raw)) throw new RequestShapeError(`Query parameter "${name}" may appear only once`);
  return coerceScalar(name, getNamedType(inner).name, raw);
}

function coerceScalar(name: string, typeName: string, raw: string): unknown {
  if (typeName === "Int") {
    if (!/^-?\d{1,9}$/.test(raw)) throw new RequestShapeError(`Query parameter "${name}" must be an integer`);
    return Number(raw);
  }
  if (typeName === "Float") {
    const n = Number(raw);
    if (raw.trim() === "" || !Number.isFinite(n))
      throw new RequestShapeError(`Query parameter "${name}" must be a number`);
    return n;
  }
  if (typeName === "Boolean") {
    if (raw !== "true" && raw !== "false")
      throw new RequestShapeError(`Query parameter "${name}" must be true or false`);
    return raw === "true";
  }
  return raw;
}
