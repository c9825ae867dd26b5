import { ErrorCode, HTTP_STATUS } from "@sprintconnect/core";
import {
  type FragmentDefinitionNode,
  type GraphQLInputType,
  type GraphQLOutputType,
  type GraphQLSchema,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  parse,
  type SelectionSetNode,
} from "graphql";
import type { CompiledRoute } from "./compile";

type JsonSchema = Record<string, unknown>;

function scalarSchema(name: string): JsonSchema {
  switch (name) {
    case "Int":
      return { type: "integer" };
    case "Float":
      return { type: "number" };
    case "Boolean":
      return { type: "boolean" };
    case "DateTimeISO":
      return { type: "string", format: "date-time" };
    case "JSONObject":
      return { type: "object", additionalProperties: true };
    default:
      return { type: "string" };
  }
}

function nullable(schema: JsonSchema): JsonSchema {
  return { anyOf: [schema, { type: "null" }] };
}

function inputSchema(type: GraphQLInputType): JsonSchema {
  if (isNonNullType(type)) return inputSchemaNonNull(type.ofType);
  return nullable(inputSchemaNonNull(type));
}

function inputSchemaNonNull(type: GraphQLInputType): JsonSchema {
  if (isListType(type)) return { type: "array", items: inputSchema(type.ofType) };
  if (isEnumType(type)) return { type: "string", enum: type.getValues().map((v) => v.value) };
  if (isInputObjectType(type)) {
    const fields = type.getFields();
    return {
      type: "object",
      additionalProperties: false,
      ...(type.description ? { description: type.description } : {}),
      properties: Object.fromEntries(
        Object.values(fields).map((f) => [
          f.name,
          { ...inputSchema(f.type), ...(f.description ? { description: f.description } : {}) },
        ]),
      ),
      required: Object.values(fields)
        .filter((f) => isNonNullType(f.type) && f.defaultValue === undefined)
        .map((f) => f.name),
    };
  }
  return scalarSchema(getNamedType(type).name);
}

function outputSchema(
  type: GraphQLOutputType,
  selection: SelectionSetNode | undefined,
  fragments: Map<string, FragmentDefinitionNode>,
): JsonSchema {
  if (isNonNullType(type)) return outputNonNull(type.ofType, selection, fragments);
  return nullable(outputNonNull(type, selection, fragments));
}

function outputNonNull(
  type: GraphQLOutputType,
  selection: SelectionSetNode | undefined,
  fragments: Map<string, FragmentDefinitionNode>,
): JsonSchema {
  if (isListType(type)) return { type: "array", items: outputSchema(type.ofType, selection, fragments) };
  if (isEnumType(type)) return { type: "string", enum: type.getValues().map((v) => v.value) };
  if (isScalarType(type)) return scalarSchema(type.name);
  if (isObjectType(type) && selection) {
    const fields = type.getFields();
    const properties: Record<string, JsonSchema> = {};
    const visit = (set: SelectionSetNode) => {
      for (const s of set.selections) {
        if (s.kind === "Field") {
          const field = fields[s.name.value];
          if (field) properties[(s.alias ?? s.name).value] = outputSchema(field.type, s.selectionSet, fragments);
        } else if (s.kind === "FragmentSpread") {
          const fragment = fragments.get(s.name.value);
          if (fragment) visit(fragment.selectionSet);
        } else {
          visit(s.selectionSet);
        }
      }
    };
    visit(selection);
    return { type: "object", properties, required: Object.keys(properties) };
  }
  return { type: "object" };
}

/**
 * The JSON schema of what the root field of `document` (a query with one root field) returns,
 * for the selection the document makes: routes outside the table describe their bodies from
 * the same types as the table's routes.
 */
export function resultSchema(schema: GraphQLSchema, document: string): JsonSchema {
  const ast = parse(document);
  const operation = ast.definitions.find((d) => d.kind === "OperationDefinition");
  const root = operation?.selectionSet.selections[0];
  const field = root?.kind === "Field" ? schema.getQueryType()?.getFields()[root.name.value] : undefined;
  if (!field || root?.kind !== "Field") throw new Error(`not a query of one root field: ${document}`);
  const fragments = new Map(
    ast.definitions
      .filter((d): d is FragmentDefinitionNode => d.kind === "FragmentDefinition")
      .map((f) => [f.name.value, f]),
  );
  const type = isNonNullType(field.type) ? field.type.ofType : field.type;
  return outputNonNull(type, root.selectionSet, fragments);
}

// --- OIDC login (issue 9) ---
/** What the public (login) routes can answer besides success. */
const PUBLIC_ROUTE_ERRORS = [
  ErrorCode.BAD_REQUEST,
  ErrorCode.INVALID_GRANT,
  ErrorCode.NO_MEMBERSHIP,
  ErrorCode.ORGANIZATION_REQUIRED,
  ErrorCode.VALIDATION_FAILED,
  ErrorCode.RATE_LIMITED,
  ErrorCode.SERVICE_UNAVAILABLE,
];
// --- end OIDC login ---

/**
 * OpenAPI 3.1 for the REST table, with request and response schemas taken from the supergraph;
 * `extraPaths` describes the few routes that are not one GraphQL operation (streams, exports).
 */
export function buildOpenApi(
  routes: CompiledRoute[],
  schema: GraphQLSchema,
  extraPaths: Record<string, Record<string, unknown>> = {},
): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const fragments = new Map(
      route.ast.definitions
        .filter((d): d is FragmentDefinitionNode => d.kind === "FragmentDefinition")
        .map((f) => [f.name.value, f]),
    );
    const rootType = route.operation.operation === "mutation" ? schema.getMutationType() : schema.getQueryType();
    const rootSelection = route.operation.selectionSet.selections[0];
    const field = rootSelection?.kind === "Field" ? rootType?.getFields()[rootSelection.name.value] : undefined;
    const parameters = [
      ...route.pathParams.map((name) => ({ name, in: "path", required: true, schema: { type: "string" } })),
      ...[...route.variables.entries()]
        .filter(([name]) => !route.pathParams.includes(name) && name !== "input")
        .map(([name, type]) => ({ name, in: "query", required: isNonNullType(type), schema: inputSchema(type) })),
    ];
    const inputType = route.variables.get("input");
    const errorCodes = route.public
      ? PUBLIC_ROUTE_ERRORS
      : [
          ErrorCode.BAD_REQUEST,
          ErrorCode.UNAUTHENTICATED,
          ErrorCode.FORBIDDEN,
          ...(route.pathParams.length > 0 ? [ErrorCode.NOT_FOUND] : []),
          ...(inputType ? [ErrorCode.VALIDATION_FAILED, ErrorCode.CONFLICT] : []),
          ErrorCode.RATE_LIMITED,
        ];
    const responses: Record<string, unknown> = {
      [String(route.status)]:
        route.status === 204 || !field
          ? { description: "Done" }
          : {
              description: "Success",
              content: {
                "application/json": {
                  schema: outputSchema(
                    field.type,
                    rootSelection?.kind === "Field" ? rootSelection.selectionSet : undefined,
                    fragments,
                  ),
                },
              },
            },
    };
    for (const code of errorCodes) {
      const status = String(HTTP_STATUS[code]);
      const shared = responses[status] as { description: string } | undefined;
      responses[status] = {
        // Several codes may share a status (INVALID_GRANT and BAD_REQUEST are both 400).
        description: shared ? `${shared.description} or ${code}` : code,
        content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
      };
    }
    const openApiPath = route.path.replace(/:([A-Za-z_]+)/g, "{$1}");
    paths[openApiPath] ??= {};
    (paths[openApiPath] as Record<string, unknown>)[route.method.toLowerCase()] = {
      operationId: route.operationId,
      summary: route.summary,
      tags: [route.tag],
      // Public routes take no credentials (logging in): they override the document's bearer.
      ...(route.public ? { security: [] } : {}),
      parameters,
      ...(inputType
        ? { requestBody: { required: true, content: { "application/json": { schema: inputSchema(inputType) } } } }
        : {}),
      responses,
      "x-graphql-operation": route.document.replace(/\s+/g, " ").trim(),
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "SprintConnect REST API",
      version: "1.0.0",
      description: "REST compatibility layer over the SprintConnect GraphQL API (POST /graphql).",
    },
    security: [{ bearer: [] }],
    paths: { ...paths, ...extraPaths },
    components: {
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer", description: "An access token (JWT) or an API key (sc_…)" },
      },
      schemas: {
        Error: {
          type: "object",
          required: ["error"],
          properties: {
            error: {
              type: "object",
              required: ["code", "message", "requestId"],
              properties: {
                code: { type: "string", enum: Object.values(ErrorCode) },
                message: { type: "string" },
                requestId: { type: "string" },
                details: { type: "object", additionalProperties: true },
              },
            },
          },
        },
      },
    },
  };
}
