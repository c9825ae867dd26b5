import Module from "node:module";
import type { DefinitionNode, DocumentNode } from "graphql";

/**
 * Two per-request costs of `@apollo/gateway` that come from how it calls
 * `@apollo/federation-internals`, removed before it loads (docs/ARCHITECTURE.md, Performance):
 *
 * 1. The package re-exports its modules the way TypeScript compiles `export * from`: every
 *    name is a getter (`get: () => m[k]`), one shared function whose keyed load is
 *    megamorphic, so V8 never inlines it. `@apollo/gateway` calls through those getters for
 *    every value of every result it shapes (`computeResponse`: `isNonNullType`, `isListType`,
 *    `isValidLeafValue`… per field): 4–6% of the gateway's CPU samples under the list load.
 *    The package's cached exports are replaced by a copy with plain data properties (the same
 *    values: the package assigns each export once, when it loads).
 * 2. `executeQueryPlan` rebuilds the operation of every request from its syntax tree
 *    (`operationFromDocument(apiSchema, …, { validate: false })`) to shape the result: 30–60 µs
 *    per list request, for a tree that Apollo's document cache hands over unchanged (the same
 *    node objects) for every request of the same query. That call is memoized by those nodes.
 *
 * Node's CommonJS loader hands every later `require` of the package the replaced object.
 * Nothing happens, and `federationExportsPatched` says so, when `@apollo/gateway` is already
 * loaded (too late to matter) or the loader's cache is not Node's (a test runner's registry).
 */
export function patchFederationExports(): boolean {
  const cache = (Module as unknown as { _cache?: Record<string, NodeJS.Module | undefined> })._cache;
  if (!cache) return false;
  if (cache[require.resolve("@apollo/gateway")]) return false;
  const id = require.resolve("@apollo/federation-internals");
  const original: Record<string, unknown> = require(id);
  const loaded = cache[id];
  if (!loaded || loaded.exports !== original) return false;
  if (!Object.getOwnPropertyDescriptor(original, "operationFromDocument")?.get) return true;
  const flat: Record<string, unknown> = {};
  Object.defineProperty(flat, "__esModule", { value: true });
  for (const key of Object.keys(original)) flat[key] = original[key];
  flat.operationFromDocument = memoizeUnvalidatedOperations(original.operationFromDocument as OperationFromDocument);
  loaded.exports = flat;
  return true;
}

type OperationFromDocument = (
  schema: object,
  document: DocumentNode,
  options?: { operationName?: string; validate?: boolean },
) => unknown;

interface Built {
  definitions: readonly DefinitionNode[];
  operationName: string | undefined;
  operation: unknown;
}

/**
 * `operationFromDocument` answering a call without validation (`validate: false`, the
 * execution's) from the operation built before for the same schema and the same definition
 * nodes (compared by identity, in order) and operation name. The cache is held weakly by the
 * schema and the first definition: an entry goes when Apollo's document cache drops the
 * document. The built operation is only read by execution and result shaping. Validating calls
 * (query planning, which may build on the operation it gets) always build anew.
 */
export function memoizeUnvalidatedOperations(build: OperationFromDocument): OperationFromDocument {
  const bySchema = new WeakMap<object, WeakMap<DefinitionNode, Built[]>>();
  return (schema, document, options) => {
    const first = document.definitions[0];
    if (
      options?.validate !== false ||
      !first ||
      Object.keys(options).some((k) => k !== "validate" && k !== "operationName")
    ) {
      return build(schema, document, options);
    }
    let byFirst = bySchema.get(schema);
    if (!byFirst) {
      byFirst = new WeakMap();
      bySchema.set(schema, byFirst);
    }
    let built = byFirst.get(first);
    if (!built) {
      built = [];
      byFirst.set(first, built);
    }
    const { definitions } = document;
    const found = built.find(
      (b) =>
        b.operationName === options.operationName &&
        b.definitions.length === definitions.length &&
        b.definitions.every((d, i) => d === definitions[i]),
    );
    if (found) return found.operation;
    const operation = build(schema, document, options);
    built.push({ definitions: [...definitions], operationName: options.operationName, operation });
    return operation;
  };
}

/** Whether this process runs `@apollo/gateway` with the patched exports (a test checks the built app). */
export const federationExportsPatched = patchFederationExports();
