import type { ApolloServerPlugin, GraphQLResponse } from "@apollo/server";
import { HTTP_STATUS, normalizeErrorCode } from "@sprintconnect/core";
import { GraphQLError } from "graphql";

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

/** `error` with the HTTP status of its code, for Apollo to answer with when it escapes the pipeline. */
function withStatus(error: GraphQLError): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: { ...error.extensions, http: { status: HTTP_STATUS[normalizeErrorCode(error.extensions.code)] } },
  });
}

/**
 * `plugin` with the GraphQL error it throws from `unexpectedErrorProcessingRequest` carrying
 * the HTTP status of its code. graphql-armor's token limit refuses from `parsingDidStart` and
 * rethrows its refusal (or the syntax error its own parser met) from that hook, which takes it
 * out of the request pipeline (`httpStatusPlugin` never sees it); Apollo then answers with the
 * status the error carries, or 500.
 */
export function withErrorStatus<TContext extends object>(
  plugin: ApolloServerPlugin<TContext>,
): ApolloServerPlugin<TContext> {
  const hook = plugin.unexpectedErrorProcessingRequest;
  if (!hook) return plugin;
  return {
    ...plugin,
    unexpectedErrorProcessingRequest: async (args) => {
      try {
        await hook.call(plugin, args);
      } catch (err) {
        throw err instanceof GraphQLError ? withStatus(err) : err;
      }
    },
  };
}
