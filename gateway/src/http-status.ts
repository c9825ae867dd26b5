import type { ApolloServerPlugin, GraphQLResponse } from "@apollo/server";
import { HTTP_STATUS, normalizeErrorCode } from "@sprintconnect/core";

/** The HTTP status a GraphQL response should have: its first error's, when it has errors and no data. */
export function statusOfResult(body: GraphQLResponse["body"]): number | undefined {
  if (body.kind !== "single") return undefined;
  const { data, errors } = body.singleResult;
  if (data != null || !errors || errors.length === 0) return undefined;
  return HTTP_STATUS[normalizeErrorCode(errors[0]?.extensions?.code)];
}

/**
 * GraphQL over HTTP: an error that stops the whole operation (errors and no `data`) answers
 * with the HTTP status of its code, as REST does. Apollo answers some of these (a plugin's
 * refusal, a subgraph's) with 200 or 500; errors beside data keep 200. Decided on the
 * formatted result, after `formatError` folded every code into our list.
 */
export function httpStatusPlugin<TContext extends object>(): ApolloServerPlugin<TContext> {
  return {
    requestDidStart: async () => ({
      willSendResponse: async ({ response }) => {
        const status = statusOfResult(response.body);
        if (status !== undefined) response.http.status = status;
      },
    }),
  };
}
