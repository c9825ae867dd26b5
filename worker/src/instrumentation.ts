// --- traces (issue 10) ---
// First import of the worker process: starts OpenTelemetry (when OTEL_EXPORTER_OTLP_ENDPOINT is set)
// before anything it instruments is loaded. See packages/core/src/tracing/instrumentation.ts.
import { startTracingFromEnv } from "@sprintconnect/core/tracing";

startTracingFromEnv("worker", process.env);
// --- end traces ---
