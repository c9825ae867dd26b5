// --- traces (issue 10) ---
import { telemetryEnvSchema } from "../config";

/**
 * A process's first import (`<process>/src/instrumentation.ts`): starts OpenTelemetry when
 * OTEL_EXPORTER_OTLP_ENDPOINT is set, before `http`, `undici`, `pg`, `ioredis`, `fastify` and
 * `graphql` are loaded, so the instrumentations can patch them. Unset (the default), nothing
 * of OpenTelemetry is loaded: the SDK module is `require`d only here, only then.
 *
 * This module reads only the telemetry variables; an invalid value is left for the process's
 * own configuration check to report with every other problem.
 */
export function startTracingFromEnv(defaultServiceName: string, env: Record<string, string | undefined>): void {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = telemetryEnvSchema.safeParse(cleaned);
  if (!parsed.success || !parsed.data.OTEL_EXPORTER_OTLP_ENDPOINT) return;
  const { startTracing } = require("./sdk") as typeof import("./sdk");
  startTracing({
    endpoint: parsed.data.OTEL_EXPORTER_OTLP_ENDPOINT,
    serviceName: parsed.data.OTEL_SERVICE_NAME ?? `sprintconnect-${defaultServiceName}`,
    scheduleDelayMs: parsed.data.OTEL_BSP_SCHEDULE_DELAY,
  });
}
// --- end traces ---
