import pino, { type Logger } from "pino";
import { traceLogFields, tracingEnabled } from "./tracing/trace-context"; // traces (issue 10)

export type { Logger } from "pino";

/** Paths that may hold secrets; pino replaces their values before a line is written. */
export const REDACT_PATHS = [
  "authorization",
  "*.authorization",
  "headers.authorization",
  "req.headers.authorization",
  "req.headers.cookie",
  "*.apiKey",
  "*.token",
  "*.accessToken",
  "*.password",
  "*.secret",
  "*.credentials",
  "connectionParams.Authorization",
  // OIDC login (issue 9): what a login or refresh carries, should a variables object be logged.
  "*.refreshToken",
  "*.codeVerifier",
  "*.clientSecret",
  "*.client_secret",
  "*.idToken",
  "*.id_token",
  '*["x-vault-token"]',
  "*.VAULT_TOKEN",
];

/** The process logger: JSON lines with the service name; children add request and job ids. */
export function createLogger(service: string, level: string): Logger {
  return pino({
    level,
    base: { service },
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    // --- traces (issue 10) ---
    // With tracing on, each line written while a span is active carries its trace and span
    // ids. Off, no mixin at all: not even a call per line.
    ...(tracingEnabled() ? { mixin: traceLogFields } : {}),
    // --- end traces ---
  });
}
