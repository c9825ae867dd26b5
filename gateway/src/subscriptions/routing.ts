import type { Supergraph } from "@apollo/federation-internals";
import { AppError, ErrorCode } from "@sprintconnect/core";
import {
  type DocumentNode,
  type FragmentDefinitionNode,
  GraphQLError,
  type GraphQLSchema,
  getOperationAST,
  getVariableValues,
  Kind,
  type OperationDefinitionNode,
  parse,
  print,
  type SelectionSetNode,
  specifiedRules,
  type ValidationRule,
  validate,
} from "graphql";
import type { SubscribePayload } from "graphql-ws";
import { checkOperationText } from "../input-text";

/** A subscription validated and routed: the owning subgraph and what it receives. */
export interface RoutedSubscription {
  subgraph: string;
  /** The root Subscription field it selects. */
  field: string;
  /** Its variables as the schema coerced them (defaults applied), for comparing subscriptions. */
  variables: Record<string, unknown>;
  payload: SubscribePayload;
  document: DocumentNode;
}

/**
 * Which subgraph owns each root Subscription field, from the supergraph's extracted subgraphs,
 * with each such subgraph's own schema (a forwarded selection must be valid there too).
 */
export function subscriptionOwners(supergraph: Supergraph): {
  owners: Map<string, string>;
  schemas: Map<string, GraphQLSchema>;
} {
  const owners = new Map<string, string>();
  const schemas = new Map<string, GraphQLSchema>();
  for (const subgraph of supergraph.subgraphs()) {
    const root = subgraph.schema.schemaDefinition.rootType("subscription");
    if (!root) continue;
    for (const field of root.fields()) {
      if (!owners.has(field.name)) owners.set(field.name, subgraph.name);
    }
    schemas.set(subgraph.name, subgraph.schema.toGraphQLJSSchema());
  }
  return { owners, schemas };
}

/** A graphql-js error (parse, validation, variables) as BAD_REQUEST, keeping its locations. */
function badRequest(err: GraphQLError, production: boolean): GraphQLError {
  // Field suggestions describe the schema; production keeps them to itself (as over HTTP).
  const message = production ? err.message.replace(/ Did you mean .*\?$/, "") : err.message;
  return new GraphQLError(message, {
    nodes: err.nodes,
    source: err.source,
    positions: err.positions,
    extensions: { code: ErrorCode.BAD_REQUEST },
  });
}

/** The root field a selection set selects (through fragments); validation has ensured there is one. */
function rootField(selectionSet: SelectionSetNode, fragments: Map<string, FragmentDefinitionNode>): string | null {
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) return selection.name.value;
    const set =
      selection.kind === Kind.INLINE_FRAGMENT
        ? selection.selectionSet
        : fragments.get(selection.name.value)?.selectionSet;
    const found = set ? rootField(set, fragments) : null;
    if (found) return found;
  }
  return null;
}

/** The operation alone with the fragments it uses, so the subgraph sees nothing else. */
function operationDocument(operation: OperationDefinitionNode, fragments: Map<string, FragmentDefinitionNode>) {
  const used = new Map<string, FragmentDefinitionNode>();
  const collect = (set: SelectionSetNode) => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        if (fragment && !used.has(name)) {
          used.set(name, fragment);
          collect(fragment.selectionSet);
        }
      } else if (selection.selectionSet) {
        collect(selection.selectionSet);
      }
    }
  };
  collect(operation.selectionSet);
  return { kind: Kind.DOCUMENT, definitions: [operation, ...used.values()] } satisfies DocumentNode;
}

/**
 * Parses and validates subscriptions against the supergraph's API schema (with the armor
 * rules; graphql-js's SingleFieldSubscriptionsRule keeps it to one root field), and routes each
 * to the subgraph that owns its root field, checking the selection is valid there alone.
 */
export class SubscriptionRouter {
  private readonly owners: Map<string, string>;
  private readonly schemas: Map<string, GraphQLSchema>;
  private readonly rules: readonly ValidationRule[];

  constructor(
    supergraph: Supergraph,
    private readonly apiSchema: GraphQLSchema,
    validationRules: readonly ValidationRule[],
    private readonly production: boolean,
  ) {
    ({ owners: this.owners, schemas: this.schemas } = subscriptionOwners(supergraph));
    this.rules = [...specifiedRules, ...validationRules];
  }

  route(payload: SubscribePayload): RoutedSubscription | GraphQLError[] {
    let document: DocumentNode;
    try {
      document = parse(payload.query);
    } catch (err) {
      return [badRequest(err as GraphQLError, this.production)];
    }
    try {
      checkOperationText(document, payload.variables);
    } catch (err) {
      return [err as GraphQLError];
    }
    const operation = getOperationAST(document, payload.operationName ?? undefined);
    if (!operation) return [new AppError(ErrorCode.BAD_REQUEST, "Unable to identify the operation to run")];
    if (operation.operation !== "subscription") {
      return [
        new AppError(
          ErrorCode.BAD_REQUEST,
          "Only subscriptions are served over WebSocket; send queries and mutations to POST /graphql",
        ),
      ];
    }
    const validationErrors = validate(this.apiSchema, document, this.rules);
    if (validationErrors.length > 0) return validationErrors.map((e) => badRequest(e, this.production));
    const variables = getVariableValues(this.apiSchema, operation.variableDefinitions ?? [], payload.variables ?? {});
    if (variables.errors) return variables.errors.map((e) => badRequest(e, this.production));

    const fragments = new Map(
      document.definitions
        .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
        .map((d) => [d.name.value, d]),
    );
    const field = rootField(operation.selectionSet, fragments);
    const subgraph = field ? this.owners.get(field) : undefined;
    if (!subgraph) return [new AppError(ErrorCode.BAD_REQUEST, "No subgraph serves this subscription")];
    const forwarded = operationDocument(operation, fragments);
    const subgraphErrors = validate(this.schemas.get(subgraph) as GraphQLSchema, forwarded);
    if (subgraphErrors.length > 0) {
      return [
        new AppError(ErrorCode.BAD_REQUEST, `This selection cannot be served by the ${subgraph} subgraph alone`, {
          errors: subgraphErrors.map((e) => e.message),
        }),
      ];
    }
    return {
      subgraph,
      field: field as string,
      variables: variables.coerced,
      document,
      payload: {
        query: print(forwarded),
        ...(operation.name ? { operationName: operation.name.value } : {}),
        ...(payload.variables ? { variables: payload.variables } : {}),
      },
    };
  }
}
