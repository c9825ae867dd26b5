import type { ApolloServer } from "@apollo/server";
import { ErrorCode, normalizeErrorCode } from "@sprintconnect/core";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { ErrorReplier } from "../app";
import type { GatewayContext } from "../graphql";
import { type CompiledRoute, RequestShapeError, variablesFor } from "./compile";

/** Registers every route of the table; each executes its GraphQL operation in process. */
export function registerRestRoutes(
  app: FastifyInstance,
  routes: CompiledRoute[],
  apollo: ApolloServer<GatewayContext>,
  contextOf: (request: FastifyRequest) => GatewayContext,
  replyError: ErrorReplier,
): void {
  for (const route of routes) {
    app.route({
      method: route.method,
      url: route.path,
      handler: async (request, reply) => {
        if (!route.public && !request.principal) {
          return replyError(ErrorCode.UNAUTHENTICATED, "Authentication required", request, reply);
        }
        let variables: Record<string, unknown>;
        try {
          variables = variablesFor(
            route,
            request.params as Record<string, string>,
            request.query as Record<string, string | string[] | undefined>,
            request.body,
          );
        } catch (err) {
          if (err instanceof RequestShapeError) return replyError(ErrorCode.BAD_REQUEST, err.message, request, reply);
          throw err;
        }
        const response = await apollo.executeOperation(
          { query: route.document, variables, operationName: route.operation.name?.value },
          { contextValue: contextOf(request) },
        );
        if (response.body.kind !== "single") {
          return replyError(ErrorCode.INTERNAL, "Internal error", request, reply);
        }
        const { data, errors } = response.body.singleResult;
        const first = errors?.[0];
        if (first) {
          const details = first.extensions?.details as Record<string, unknown> | undefined;
          return replyError(normalizeErrorCode(first.extensions?.code), first.message, request, reply, details);
        }
        if (route.status === 204) return reply.code(204).send();
        return reply.code(route.status).send((data as Record<string, unknown>)[route.rootField]);
      },
    });
  }
}
