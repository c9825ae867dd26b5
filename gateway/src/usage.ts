import type { Principal, UsageRecord } from "@sprintconnect/core";
import type { FastifyRequest } from "fastify";

/**
 * The usage event of one API request: who (organization, user, API key), what (the route and
 * the GraphQL operation's name: a REST route runs a named operation too), how it ended (status)
 * and how long it took.
 */
export function requestUsage(
  principal: Principal,
  request: FastifyRequest,
  route: string,
  status: number,
  elapsedMs: number,
): UsageRecord {
  const operation = operationName(request);
  return {
    organizationId: principal.organizationId,
    userId: principal.userId,
    apiKeyId: principal.apiKeyId,
    kind: "api.request",
    durationMs: elapsedMs,
    success: status < 400,
    metadata: {
      route: `${request.method} ${route}`,
      status,
      ...(operation ? { operation } : {}),
    },
  };
}

/** The operation's name as Apollo resolved it (GraphQL and REST alike), when it is a plain name. */
function operationName(request: FastifyRequest): string | null {
  const name = request.graphqlContext?.operation.name;
  return typeof name === "string" && /^[_A-Za-z][_0-9A-Za-z]{0,99}$/.test(name) ? name : null;
}
