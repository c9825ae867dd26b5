import type { ApolloServerPlugin } from "@apollo/server";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/**
 * Operation names are client-chosen, and each label value is a new series. The REST routes'
 * operations are always labelled; beyond them, the first this many other names are, and any
 * later one is "other".
 */
export const MAX_OPERATION_NAMES = 50;
/** A label value: a GraphQL name of modest length. Anything else is "other". */
const OPERATION_LABEL = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** Prometheus metrics of the gateway, served at /metrics. */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: "http_request_duration_seconds",
    help: "HTTP request latency by method, route and status",
    labelNames: ["method", "route", "status"] as const,
    buckets: BUCKETS,
    registers: [this.registry],
  });
  readonly graphqlDuration = new Histogram({
    name: "graphql_operation_duration_seconds",
    help: "GraphQL operation latency by operation name, type and outcome",
    labelNames: ["operation", "type", "status"] as const,
    buckets: BUCKETS,
    registers: [this.registry],
  });
  readonly rateLimited = new Counter({
    name: "rate_limited_requests_total",
    help: "Requests refused by rate limits or quotas",
    labelNames: ["code"] as const,
    registers: [this.registry],
  });
  readonly wsConnections = new Gauge({
    name: "graphql_ws_connections",
    help: "Open graphql-ws connections (acknowledged)",
    registers: [this.registry],
  });
  readonly activeSubscriptions = new Gauge({
    name: "graphql_subscriptions_active",
    help: "Subscriptions being forwarded to subgraphs, by subgraph",
    labelNames: ["subgraph"] as const,
    registers: [this.registry],
  });
  private readonly knownOperations: ReadonlySet<string>;
  private readonly operationNames = new Set<string>();

  /** `knownOperations`: names always labelled as they are (the REST routes' operations). */
  constructor(knownOperations: Iterable<string> = []) {
    this.knownOperations = new Set(knownOperations);
    collectDefaultMetrics({ register: this.registry });
  }

  /** Times every GraphQL operation, whether it came over HTTP, WebSocket or the REST layer. */
  apolloPlugin(): ApolloServerPlugin {
    return {
      requestDidStart: async () => {
        const start = process.hrtime.bigint();
        return {
          didResolveOperation: async (ctx) => {
            // Usage metering names the request by its operation (gateway/src/usage.ts).
            // Apollo runs each operation on a shallow copy of the context: write into the shared holder.
            const context = ctx.contextValue as { operation?: { name: string | null } };
            if (context.operation) context.operation.name = ctx.operationName ?? null;
          },
          willSendResponse: async (ctx) => {
            const seconds = Number(process.hrtime.bigint() - start) / 1e9;
            this.graphqlDuration.observe(
              {
                operation: this.operationLabel(ctx.operationName),
                type: ctx.operation?.operation ?? "unknown",
                status: ctx.errors && ctx.errors.length > 0 ? "error" : "ok",
              },
              seconds,
            );
          },
        };
      },
    };
  }

  private operationLabel(name: string | null | undefined): string {
    if (!name) return "anonymous";
    if (this.knownOperations.has(name) || this.operationNames.has(name)) return name;
    if (!OPERATION_LABEL.test(name)) return "other";
    if (this.operationNames.size >= MAX_OPERATION_NAMES) return "other";
    this.operationNames.add(name);
    return name;
  }
}
