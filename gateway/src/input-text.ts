import type { ApolloServerPlugin } from "@apollo/server";
import { AppError, ErrorCode } from "@sprintconnect/core";
import { type DocumentNode, Kind, visit } from "graphql";

/**
 * A NUL, or a UTF-16 surrogate that is not half of a pair. PostgreSQL refuses both in text
 * (and the driver fails on them), and no legitimate input needs them.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding NUL is the point.
const UNSAFE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The path of the first string in `value` (keys included) that holds unsafe text, or null. */
export function findUnsafeText(value: unknown, path = ""): string | null {
  if (typeof value === "string") return UNSAFE.test(value) ? path || "(value)" : null;
  if (Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const found = findUnsafeText(item, `${path}[${i}]`);
      if (found) return found;
    }
    return null;
  }
  if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      const at = path ? `${path}.${key}` : key;
      if (UNSAFE.test(key)) return at;
      const found = findUnsafeText(item, at);
      if (found) return found;
    }
  }
  return null;
}

/**
 * Whether a parsed document's string literals hold unsafe text, by document: Apollo hands the
 * same parsed document to every request of the same operation (its document cache), so the
 * literals of an operation are walked once, not on every request.
 */
const literalsChecked = new WeakMap<DocumentNode, boolean>();

/**
 * Refuses an operation whose string literals or variables hold a NUL or a lone surrogate,
 * with BAD_REQUEST, before anything runs. The one check for every way an operation comes in:
 * GraphQL over HTTP and the REST layer (an Apollo plugin) and subscriptions over WebSocket.
 */
export function checkOperationText(document: DocumentNode, variables: Record<string, unknown> | null | undefined) {
  let literal = literalsChecked.get(document);
  if (literal === undefined) {
    literal = false;
    visit(document, {
      [Kind.STRING](node) {
        if (UNSAFE.test(node.value)) literal = true;
      },
    });
    literalsChecked.set(document, literal);
  }
  const variable = findUnsafeText(variables ?? {});
  if (literal || variable) {
    throw new AppError(
      ErrorCode.BAD_REQUEST,
      "Text may not contain NUL characters or unpaired UTF-16 surrogates",
      variable ? { variable } : undefined,
    );
  }
}

/** `checkOperationText` for every operation Apollo runs (HTTP GraphQL and the REST routes). */
export function unsafeTextPlugin<T extends object>(): ApolloServerPlugin<T> {
  return {
    requestDidStart: async () => ({
      didResolveOperation: async ({ document, request }) => checkOperationText(document, request.variables),
    }),
  };
}
