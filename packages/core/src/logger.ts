import pino, { type Logger } from "pino";

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
  });
}
