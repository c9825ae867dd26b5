// --- traces (issue 10) ---
// The `@sprintconnect/core/tracing` entry: what a process's instrumentation file imports first.
// It must not load the rest of core (Prisma, pg, ioredis), which the SDK has to instrument.
export { startTracingFromEnv } from "./instrumentation";
// --- end traces ---
