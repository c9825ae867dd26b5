// --- traces (issue 10) ---
import * as api from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { FastifyInstrumentation } from "@opentelemetry/instrumentation-fastify";
import { GraphQLInstrumentation } from "@opentelemetry/instrumentation-graphql";
import { HttpInstrumentation } from "@opentelemetry/instrumentation-http";
import { IORedisInstrumentation } from "@opentelemetry/instrumentation-ioredis";
import { PgInstrumentation } from "@opentelemetry/instrumentation-pg";
import { UndiciInstrumentation } from "@opentelemetry/instrumentation-undici";
import { NodeSDK, tracing } from "@opentelemetry/sdk-node";
import { enableTracing } from "./trace-context";

/** Requests that are not work: probes and scrapes would bury the traces that matter. */
const UNTRACED_PATHS = /^\/(health|metrics)(\/|\?|$)/;

/**
 * Starts the OpenTelemetry Node SDK: OTLP/HTTP (JSON) export of traces to
 * `<endpoint>/v1/traces`, W3C trace context, and the instrumentations of every library a
 * request or job crosses: `http` (servers and clients), `undici` (the gateway's subgraph
 * fetcher, `fetch`), `fastify`, `graphql`, `pg` (Prisma's adapter and Kysely go through it) and
 * `ioredis`. Loaded only by `startTracingFromEnv`, only when an endpoint is configured.
 */
export function startTracing(options: { endpoint: string; serviceName: string; scheduleDelayMs: number }): void {
  const exporter = new OTLPTraceExporter({ url: `${options.endpoint.replace(/\/+$/, "")}/v1/traces` });
  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    spanProcessors: [new tracing.BatchSpanProcessor(exporter, { scheduledDelayMillis: options.scheduleDelayMs })],
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => UNTRACED_PATHS.test(request.url ?? ""),
      }),
      // Outbound URLs (MCP servers, webhook receivers, LLM providers) without their query: a
      // registered URL may carry a token there.
      new UndiciInstrumentation({
        requestHook: (span, request) => {
          const url = `${request.origin}${request.path.split("?")[0]}`;
          span.setAttribute("url.full", url);
          span.setAttribute("url.query", "");
        },
      }),
      new FastifyInstrumentation(),
      // Resolver spans for the operation's top-level fields only: spans for every field of every
      // row doubled a subgraph's CPU per list request (bench/tracing.bench.ts) and told little
      // that its pg spans do not.
      new GraphQLInstrumentation({ depth: 1, ignoreTrivialResolveSpans: true, mergeItems: true }),
      new PgInstrumentation({ requireParentSpan: true }),
      // The command name only: keys name API keys, IPs and sessions, arguments hold values.
      new IORedisInstrumentation({ requireParentSpan: true, dbStatementSerializer: (command) => command }),
    ],
  });
  sdk.start();
  enableTracing(api, () => sdk.shutdown());
}
// --- end traces ---
