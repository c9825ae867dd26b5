// --- traces (issue 10) ---
// First import of the scheduler process: starts OpenTelemetry (when OTEL_EXPORTER_OTLP_ENDPOINT is set)
// before anything it instruments is loaded. See packages/core/src/tracing/instrumentation.ts.
import { startTracingFromEnv } from "@sprintconnect/core/tracing";

startTracingFromEnv("scheduler", process.env);
// --- end traces ---
